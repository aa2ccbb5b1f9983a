"""The `w2w` command: one Typer app, each command one function of project_commands.py,
publish_commands.py or present_command.py (or a generator's, found as an entry point of group
`w2w.commands`), registered here with the same handling of user errors. Imports stay light: no
torch, no model library at start-up."""

from __future__ import annotations

import importlib
import signal
import sys

import typer
from rich.text import Text

from w2w.cli import generate_command, output, present_command, project_commands, publish_commands
from w2w.cli.output import user_errors

try:  # typer 0.2x carries its own click; its exceptions are what the parser raises
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # a typer that uses the click package
    from click.exceptions import ClickException, NoArgsIsHelpError

app = typer.Typer(
    help="w2w: presentation-as-code for 'From Words to Worlds'. Builds the reveal.js deck and the handout.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rich's help renderer costs ~0.3 s of imports per call
)
models_app = typer.Typer(
    help="Model weights: fetch the full models for GPU machines.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(models_app, name="models")


def _generator_commands() -> dict:
    """Commands that generators bring (registry.COMMANDS: name -> "module:function"), e.g. the
    shapes model's `train-shapes`."""
    from w2w.plugins import registry

    found = {}
    for name, target in registry.COMMANDS.items():
        module, function = target.split(":")
        found[name] = getattr(importlib.import_module(module), function)
    return found


# name -> function, in the order `w2w --help` lists them.
COMMANDS = {
    "build-talk": project_commands.build_talk,
    "status": project_commands.status,
    "freeze": project_commands.freeze,
    "serve": project_commands.serve,
    "generate": generate_command.generate,
    **_generator_commands(),
    "export-pdf": publish_commands.export_pdf_command,
    "export-html": publish_commands.export_html,
    "check": publish_commands.check_command,
    "pacing": project_commands.pacing_command,
    "present": present_command.present,
}
for _name, _function in COMMANDS.items():
    app.command(_name)(user_errors(_function))
models_app.command("pull")(user_errors(project_commands.models_pull))


def main() -> None:
    """The console script. A mistake on the command line (an unknown option, a value out of range)
    is one line, `error: what — how to fix`, exit 2, like every other user error; click would print
    its usage block and a boxed error over four lines."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on, Ctrl-C unwinds
    say = output.console.print
    with output.engine_log():
        try:
            code = app(standalone_mode=False)
        except KeyboardInterrupt:  # a command's own cleanup (locks, scratch files) has run
            say("interrupted", soft_wrap=True)
            sys.exit(130)
        except NoArgsIsHelpError as exc:  # plain `w2w`: the help, as click shows it
            typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
            sys.exit(2)
        except ClickException as exc:
            command = (exc.ctx.command_path if getattr(exc, "ctx", None) else "w2w").replace("python -m w2w", "w2w")
            message = " ".join(exc.format_message().split())
            say(Text.assemble(("error: ", "bold red"), f"{message} — see `{command} --help`"), soft_wrap=True)
            sys.exit(exc.exit_code)
        except typer.Abort:  # click's form of a Ctrl-C it caught
            say("interrupted", soft_wrap=True)
            sys.exit(130)
    code = code if isinstance(code, int) else 0
    if code == 130 and not output.interrupt_said:  # typer turns a Ctrl-C into Exit(130), silently
        say("interrupted", soft_wrap=True)
    # Done: a Ctrl-C now would land in the interpreter's shutdown, which restores the default
    # handler first (killed by SIGINT, with no word of why). The command has finished; ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
