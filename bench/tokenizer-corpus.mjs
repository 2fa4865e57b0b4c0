// tokenizer-corpus.mjs: the tokenizer parity corpus, generated deterministically (a fixed seed, no input): one
// JSON string per line. Several languages and scripts, emoji and combining marks, code, numbers,
// whitespace runs, tabs and newlines, the text of special tokens, empty and very long strings, and
// random mixes of all of them.
//   node bench/tokenizer-corpus.mjs OUT.jsonl
import {writeFileSync} from "node:fs";

let seed = 0x9e3779b9;
function rand() {  // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const prose = [
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged, that a single man in possession of a good fortune must be in want of a wife.",
    "I'm sure they'll say we'd've done it if you're right; she's gone, and I've seen it.",
    "DON'T SHOUT! We'RE here, THEY'LL come, it'S fine, I'M ok, you'D know, we'VE won.",
    "Le cœur a ses raisons que la raison ne connaît point. Ça va? Très bien, merci — à bientôt!",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein. Straße, Größe, Fußgängerübergänge.",
    "¿Dónde está la biblioteca? ¡Qué día tan bonito! El niño comió piña en España.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Москва — столица России.",
    "Τάχιστη αλώπηξ βαφής ψημένη γη, δρασκελίζει υπέρ νωθρού κυνός. Ελληνικά γράμματα.",
    "العربية لغة جميلة، وهي من أكثر اللغات انتشاراً في العالم. مرحبا بالعالم!",
    "עברית היא שפה שמית. שלום עולם! מה שלומך היום?",
    "हिन्दी भारत की राजभाषा है। नमस्ते दुनिया! क्षत्रिय, ज्ञान, श्री।",
    "ภาษาไทยเป็นภาษาที่สวยงาม สวัสดีชาวโลก ขอบคุณมากครับ",
    "中文是世界上使用人数最多的语言之一。你好，世界！我们今天去公园散步吧。",
    "日本語の文章です。ひらがな、カタカナ、漢字が混ざっています。東京は大きい都市です。",
    "한국어는 아름다운 언어입니다. 안녕하세요, 세계! 오늘 날씨가 좋네요.",
    "Tiếng Việt có nhiều dấu: Người Việt, đường phố, những ngày xưa cũ, ổn định, ửng hồng.",
    "İstanbul'da ılık bir akşam; Iğdır, Şişli, çiçekçi, ölçü, güzel.",
    "Ελληνικά και English mixed with русский и 中文 and العربية in one line.",
    "Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Ꭰ Ꭱ Ꭲ — Cherokee; ᚠᚢᚦᚨᚱᚲ — runes; ⠓⠑⠇⠇⠕ — braille; ꦗꦮ — Javanese.",
];
const code = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\treturn v.size() > 2 ? 0 : 1;\n}\n",
    "const x = {a: 1, 'b': [2, 3], \"c\": null}; // comment\nconsole.log(`value: ${x.a}`);",
    "{\"name\": \"versus\", \"version\": \"0.1.0\", \"list\": [1, 2.5, -3e10, true, false, null]}",
    "<html><head><title>Test &amp; page</title></head><body><p class=\"x\">Hi!</p></body></html>",
    "for i in $(seq 1 10); do echo \"$i\" | sed 's/1/one/g' >> out.txt; done && cat out.txt | wc -l",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC LIMIT 10;",
    "fn main() { let s: &str = \"hello\"; println!(\"{s:?} {}\", s.len()); }",
    "    x += 1  # four spaces\n\t\ty -= 2\t# two tabs\n        z *= 3\n",
    "if (a && b || !c) { a <<= 2; b >>= 1; c ^= ~d; } else if (x != y && y == z) { return -1; }",
    "matrix = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\nprint(f\"{matrix!r:>20}\")",
    "$ ls -la /usr/local/bin | grep -E '^-rwx' && echo ok || echo 'failed: $?'",
];
const numbers = [
    "0", "7", "42", "123", "1234", "12345", "123456", "1234567", "12345678901234567890", "3.14159265358979",
    "-273.15", "+1 (555) 010-9999", "1,234,567.89", "1.234.567,89", "2024-01-31", "12:34:56", "0x7FFF_FFFF",
    "6.022e23", "1e-9", "100%", "$9.99", "€1.000", "٣٤٥ ٦٧", "１２３４５", "x² + y³ = z⁴", "Ⅻ Ⅳ ⅷ", "½ ¼ ¾", "①②③",
    "১২৩", "๑๒๓", "一二三", "9999999999", "007", "3/4", "v1.2.3-rc.4", "192.168.0.1", "IPv6 ::1",
];
const emoji = [
    "😀", "😀😃😄", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇫🇷🇯🇵🇺🇸", "❤️", "✔︎", "🏳️‍🌈", "🤖 robots!", "I ❤️ NY",
    "emoji at end 🎉", "🎉 at start", "mixed😀text😃here", "🧑🏿‍🚀🚀", "♀️♂️", "©®™", "☃☂☀", "🀄🃏", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝",
];
const marks = [
    "e\u0301", "cafe\u0301", "n\u0303", "a\u0300\u0301\u0302\u0303\u0304", "Z\u0351\u036b\u0343a\u0302l\u0352g\u0310o\u0353",
    "\u0301 leading mark", "o\u0308\u0304", "ก\u0e34\u0e48", "क\u094d\u0937", "\u05e9\u05c1\u05b8", "A\u20dd", "1\ufe0f\u20e3",
    "half\u200dway", "zero\u200bwidth", "soft\u00adhyphen", "rtl\u200fmark", "bom\ufeffmid", "vs16\ufe0f",
];
const spaces = [
    "", " ", "  ", "   ", "    ", " a", "  a", "a ", "a  ", " a ", "\t", "\t\t", "\ta", "a\tb", "\n", "\n\n",
    "\n\n\n", "a\nb", "a\n\nb", "\r\n", "a\r\nb", "\r", " \n", "\n ", " \n ", "  \n  ", "\t\n", "\n\t", " \t \n \r\n ",
    "a \n b", "x  \n\n  y", "\u00a0", "a\u00a0b", "\u3000", "a\u3000b", "\u2028", "\u2029", "\u0085", "\u000b\u000c",
    "\u2003em space", "end space ", "end spaces   ", "   leading", "\n\nparagraph\n\n", "tab\tseparated\tvalues\n1\t2\t3",
];
const specials = [
    "<s>", "</s>", "<unk>", "<s>Hello</s>", " <s> ", "<s><s>", "<|begin_of_text|>", "<|end_of_text|>",
    "<|begin_of_text|>Hello<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n", "<|endoftext|>",
    "<think>\nreasoning\n</think>\n\nanswer", "<tool_call>{\"name\": \"f\"}</tool_call>", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>",
    "<|eot_id", "|eot_id|>", "<|im_end|", "<|reserved_special_token_5|>", "<|reserved_special_token_250|>", "<0x41>",
    "<0x0A>", "▁", "▁▁hello", "hello▁world", "[INST] hi [/INST]", "<<SYS>>\nsys\n<</SYS>>", "<|im_end|><|im_end|>",
    "text<|eot_id|>more text", "a<s>b</s>c", "<|begin_of_text|><|begin_of_text|>", "<|python_tag|>", "<|eom_id|>",
];
const scripts = [  // code point ranges for random strings
    [0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f],
    [0xe00, 0xe7f], [0x1100, 0x11ff], [0x3040, 0x30ff], [0x4e00, 0x4fff], [0xac00, 0xad00], [0x2000, 0x206f],
    [0x2190, 0x23ff], [0x2500, 0x27bf], [0xff00, 0xffef], [0x1f300, 0x1f6ff], [0x1f900, 0x1f9ff], [0x10000, 0x1007f],
    [0x1d400, 0x1d7ff], [0x300, 0x36f], [0x0, 0x1f],
];
const randomCodepoints = (n) => {
    let s = "";
    for (let i = 0; i < n; i++) {
        const [lo, hi] = pick(scripts);
        const c = int(lo, hi);
        if (c >= 0xd800 && c <= 0xdfff) continue;
        s += String.fromCodePoint(c);
    }
    return s;
};
const randomAscii = (n) => Array.from({length: n}, () => String.fromCharCode(int(0x20, 0x7e))).join("");
const words = (prose.join(" ") + " " + code.join(" ")).split(/\s+/).filter(Boolean);
const randomWords = (n) => {
    let s = "";
    for (let i = 0; i < n; i++) s += (i ? pick([" ", " ", " ", "  ", "\n", "\t", ", ", ". ", "\n\n", " - "]) : "") + pick(words);
    return s;
};

const corpus = [];
const all = [prose, code, numbers, emoji, marks, spaces, specials];
for (const list of all) corpus.push(...list);
// Each fixed string in context: after a word, before a word, with surrounding spaces.
for (const list of all)
    for (const s of list) {
        corpus.push("word " + s, s + " word", " " + s + " ", pick(prose) + s + pick(numbers));
    }
// Random mixes.
for (let i = 0; i < 400; i++) corpus.push(randomWords(int(1, 40)));
for (let i = 0; i < 300; i++) corpus.push(randomCodepoints(int(1, 60)));
for (let i = 0; i < 200; i++) corpus.push(randomAscii(int(1, 80)));
for (let i = 0; i < 200; i++) {
    const parts = [];
    for (let k = int(2, 8); k > 0; k--) parts.push(pick(pick(all)));
    corpus.push(parts.join(pick(["", " ", "\n", "\t", "  "])));
}
for (let i = 0; i < 100; i++) corpus.push(String(int(0, 1e9)) + pick(["", ".", ",", " "]) + String(int(0, 99999)));
for (let i = 0; i < 100; i++) corpus.push(" ".repeat(int(0, 6)) + pick(words) + "\t".repeat(int(0, 3)) + "\n".repeat(int(0, 3)) + pick(words));
// Very long strings.
corpus.push(prose.join(" ").repeat(20));
corpus.push(code.join("\n").repeat(10));
corpus.push(" ".repeat(5000) + "x");
corpus.push("\n".repeat(3000));
corpus.push("a".repeat(4000));
corpus.push("1234567890".repeat(500));
corpus.push("😀".repeat(1000));
corpus.push(randomCodepoints(8000));
corpus.push(randomWords(3000));
corpus.push(specials.join("").repeat(30));

const out = process.argv[2];
if (!out) {
    console.error("usage: node tokenizer-corpus.mjs OUT.jsonl");
    process.exit(2);
}
writeFileSync(out, corpus.map((s) => JSON.stringify(s)).join("\n") + "\n");
console.error(`${corpus.length} strings, ${corpus.reduce((n, s) => n + s.length, 0)} UTF-16 units`);
