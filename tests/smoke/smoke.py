"""End to end, as a user runs it: `python smoke.py WORKDIR`, with the Python of an environment where the
package was installed from its wheel (`.ci/smoke.sh` makes one).

Writes one article of every type the product reads into WORKDIR/corpus (made here, with the product's
own dependencies), then checks that `rag index --json` reads each and skips none, that `rag ask --json`
answers a question about each with a passage of that article holding the answer, and that `rag serve`
answers over HTTP through gradio_client. Needs no network. Prints what it checked; exits 1 on
the first check that fails.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMEOUT = 900  # seconds for one command: the first index exports the model and embeds on a busy machine

# Each article holds one fact, asked about below: (file, title, fact, question).
ARTICLES = [
    (
        "beehives.txt",
        "Beehives",
        "A healthy hive in midsummer holds about sixty thousand bees.",
        "How many bees are in a healthy hive in midsummer?",
    ),
    (
        "sourdough.md",
        "Sourdough",
        "Feed the starter with equal weights of rye flour and water every twelve hours.",
        "How often should the sourdough starter be fed?",
    ),
    (
        "tides.html",
        "Tidal power",
        "The Rance tidal power station in Brittany opened in 1966.",
        "When did the Rance tidal power station open?",
    ),
    (
        "glaciers.pdf",
        "Glacier retreat",
        "The Rhone Glacier has lost about one and a half kilometres of its length since 1850.",
        "How much length has the Rhone Glacier lost?",
    ),
    (
        "openings.docx",
        "Chess openings",
        "The Sicilian Defence begins with the moves e4 and c5.",
        "Which moves begin the Sicilian Defence?",
    ),
    (
        "lenses.epub",
        "Lighthouse lenses",
        "Augustin Fresnel designed the first stepped lighthouse lens in 1822.",
        "Who designed the first stepped lighthouse lens?",
    ),
]
FILLER = [
    "This article was written for a small collection of notes kept by a reading group.",
    "Readers are asked to check the figures against the sources listed at the end.",
]


def paragraphs(title: str, fact: str) -> list[str]:
    return [f"{title} are the subject of this short article. {FILLER[0]}", fact, FILLER[1]]


def write_articles(corpus: Path) -> None:
    corpus.mkdir(parents=True)
    for name, title, fact, _ in ARTICLES:
        kind = name.rsplit(".", 1)[1]
        body = paragraphs(title, fact)
        path = corpus / name
        if kind == "txt":
            path.write_text(f"{title}\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        elif kind == "md":
            path.write_text(f"# {title}\n\n## Feeding\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        elif kind == "html":
            path.write_text(html_page(title, body), encoding="utf-8")
        elif kind == "pdf":
            path.write_bytes(pdf_module().make_pdf(["\n\n".join(body)], title=title))
        elif kind == "docx":
            path.write_bytes(word_file(title, body))
        elif kind == "epub":
            write_epub(path, title, body)


def html_page(title: str, body: list[str]) -> str:
    text = "".join(f"<p>{p}</p>" for p in body)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/about'>About</a></nav>"
        f"<article><h1>{title}</h1>{text}</article>"
        "<footer>Copyright the reading group</footer></body></html>"
    )


def pdf_module():
    """tests/pdfs.py, the hand-built PDF writer of the tests, loaded from its file."""
    spec = importlib.util.spec_from_file_location("pdfs", HERE.parent / "pdfs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def word_file(title: str, body: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for paragraph in body:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write_epub(path: Path, title: str, body: list[str]) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("smoke")
    book.set_title(title)
    chapter = epub.EpubHtml(title=title, file_name="chapter.xhtml", lang="en")
    chapter.content = f"<html><body><h1>{title}</h1>" + "".join(f"<p>{p}</p>" for p in body) + "</body></html>"
    book.add_item(chapter)
    book.toc = [chapter]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = [chapter]
    epub.write_epub(str(path), book)


STARTED = time.monotonic()


def check(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        sys.exit(f"FAILED: {what}" + (f"\n{detail}" if detail != "" else ""))
    print(f"ok ({time.monotonic() - STARTED:4.0f} s): {what}", flush=True)


class Rag:
    """The installed `rag` command, run in WORKDIR with the corpus and index there."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.exe = Path(sys.executable).parent / "rag"
        self.where = ["--corpus", str(work / "corpus"), "--index", str(work / "index")]
        self.env = offline_env()

    def run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.exe), *args], cwd=self.work, env=self.env, capture_output=True, text=True, timeout=TIMEOUT
        )
        if result.returncode != 0:
            sys.exit(f"FAILED: rag {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.work / "serve.log", "w")  # noqa: SIM115 - the server writes to it until stopped
        return subprocess.Popen(
            [str(self.exe), *args], cwd=self.work, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=hears_ctrl_c,
        )  # fmt: skip


def hears_ctrl_c() -> None:
    """In the child: SIGINT acts as in a terminal, even when this check was started in the background
    (where a shell without job control makes its children ignore it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def offline_env() -> dict[str, str]:
    """The environment less anything that points Python at other code, with the model hubs told to stay away."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", NO_PROXY="127.0.0.1")
    return env


def check_installed(rag: Rag) -> None:
    """`rag` is the installed package, not a source tree on the path."""
    probe = "import importlib.metadata as m, rag; print(rag.__file__); print(m.version('rag'))"
    where, version = subprocess.run(
        [sys.executable, "-I", "-c", probe], cwd=rag.work, capture_output=True, text=True, check=True
    ).stdout.split()
    check(Path(where).is_relative_to(sysconfig.get_paths()["purelib"]), f"rag is imported from the install: {where}")
    shown = rag.run("--version").stdout.strip()
    check(shown.endswith(version), f"rag --version says {shown!r}")


def check_index(rag: Rag) -> None:
    summary = json.loads(rag.run("index", "--json", *rag.where).stdout)
    check(summary["skipped"] == [], "rag index skipped no file", summary["skipped"])
    check(summary["added"] == len(ARTICLES), f"rag index read all {len(ARTICLES)} articles", summary)


def check_ask(rag: Rag) -> None:
    questions = [question for *_, question in ARTICLES]
    out = rag.run("ask", "--json", "-k", "3", *rag.where, *questions).stdout
    answers = [json.loads(line) for line in out.splitlines()]
    check(len(answers) == len(ARTICLES), "rag ask --json answered every question", out)
    for (name, _, fact, question), answer in zip(ARTICLES, answers, strict=True):
        top = answer["passages"][0]
        check(top["source"] == name and fact in " ".join(top["text"].split()), f"{question!r} -> {name}", answer)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_serve(rag: Rag) -> None:
    from gradio_client import Client

    port = free_port()
    server = rag.start("serve", "--port", str(port), *rag.where)
    url = f"http://127.0.0.1:{port}"
    try:
        client = None
        deadline = time.monotonic() + TIMEOUT
        while client is None:
            if server.poll() is not None:
                check(False, "rag serve is running", (rag.work / "serve.log").read_text())
            try:
                client = Client(url, verbose=False)
            except Exception:  # not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        name, _, fact, question = ARTICLES[-1]
        answer = client.predict(question=question, k=3, api_name="/ask")
        top = answer["passages"][0]
        check(top["source"] == name and fact in " ".join(top["text"].split()), f"/ask over HTTP -> {name}", answer)
    finally:
        server.send_signal(signal.SIGINT)  # as Ctrl-C
        try:
            code = server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
            check(False, "rag serve stops on Ctrl-C", (rag.work / "serve.log").read_text())
    check(True, f"rag serve stopped on Ctrl-C (exit code {code})")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python smoke.py WORKDIR  (an empty or missing folder)")
    work = Path(sys.argv[1]).resolve()
    write_articles(work / "corpus")
    rag = Rag(work)
    check_installed(rag)
    check_index(rag)
    check_ask(rag)
    check_serve(rag)
    print(f"smoke: all checks passed in {time.monotonic() - STARTED:.0f} s")


if __name__ == "__main__":
    main()
