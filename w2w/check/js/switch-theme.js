// Material eases colours over 125 ms, and axe read the colours half-way (#787887 from #1b1b2f to
// #ececf4): no transitions while another theme is judged.
(name) => {
    if (!document.getElementById('w2w-no-transitions')) {
        const style = document.createElement('style');
        style.id = 'w2w-no-transitions';
        style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }';
        document.head.appendChild(style);
    }
    document.documentElement.dataset.w2wTheme = name;
}
