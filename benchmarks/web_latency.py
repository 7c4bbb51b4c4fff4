"""How long the web chat takes to start and to answer, next to Engine.ask called directly.

    python benchmarks/web_latency.py [--rounds 5]

Starts `python app.py` on a free port with a copy of the bundled corpus
(a fresh index, so start-up includes indexing), asks the same questions
through the /ask endpoint with gradio_client and in-process through
Engine.ask, and prints a table of median and slowest times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    ("Who led the Rust for Linux project?", []),
    ("When did he send his first pull request?", ["Who led the Rust for Linux project?"]),
    ("Which AWS container OS has Rust in it?", []),
    ("How do I bake sourdough bread?", []),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(root: Path, port: int) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "RAG_CORPUS": str(root / "corpus"), "RAG_INDEX": str(root / "index"), "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            return proc, time.perf_counter() - t0
        except OSError:
            time.sleep(0.25)


def timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for question, history in QUESTIONS:
            t0 = time.perf_counter()
            fn(question, history)
            out.append(time.perf_counter() - t0)
    return out


def row(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return f"| {name:<36} | {len(ms):>5} | {statistics.median(ms):>9.0f} | {ms[-1]:>9.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from gradio_client import Client

    from rag import Engine, Settings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "corpus", root / "corpus")
        port = free_port()
        proc, startup = start_app(root, port)
        try:
            client = Client(f"http://127.0.0.1:{port}", verbose=False, analytics_enabled=False)
            api = timed(lambda q, h: client.predict(question=q, history=h, api_name="/ask"), args.rounds)
            engine = Engine(Settings(corpus=root / "corpus", index=root / "index"))
            engine.ask("warm up")
            direct = timed(lambda q, h: engine.ask(q, history=h), args.rounds)
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"cores: {os.cpu_count()}; questions: {len(QUESTIONS)} x {args.rounds} rounds; k = 5\n")
    print("| what                                 | calls | median ms |   max ms  |")
    print("|--------------------------------------|-------|-----------|-----------|")
    print(f"| {'app.py start, fresh index (to HTTP)':<36} | {1:>5} | {startup * 1000:>9.0f} | {startup * 1000:>9.0f} |")
    print(row("/ask through gradio_client", api))
    print(row("Engine.ask in-process", direct))


if __name__ == "__main__":
    main()
