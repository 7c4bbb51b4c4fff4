"""The web chat under load: many clients asking at once through its /ask API.

    python benchmarks/load.py [--clients 16] [--questions 50]

Indexes a copy of the bundled corpus (`rag index`, in its own process),
starts `python app.py` on it on a free loopback port, waits until the app
answers, then starts `--clients` threads, each with its own gradio_client
Client, each asking `--questions` questions of eval/questions.jsonl in turn
(each client from a different place in the list). A question fails on any exception, or on an answer
without passages (the index is not empty, so every answer has some, marked
low confidence when the articles do not answer). Prints a table; the exit
code is 1 if any question failed.

Import `run_load` to run it from code (tests/test_load.py does).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, child_env, machine, pct, table

QUESTIONS = ROOT / "eval" / "questions.jsonl"
START_TIMEOUT = 600.0  # seconds; a fresh index embeds the corpus first (and exports the model once)

Question = tuple[str, list[str]]  # (question, earlier questions of its conversation)


@dataclass
class LoadResult:
    clients: int
    questions: int  # per client
    latencies: list[float] = field(default_factory=list)  # seconds, one per answered question
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    server_peak_mb: float | None = None
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def asked(self) -> int:
        return self.clients * self.questions


def load_questions() -> list[Question]:
    """(question, earlier questions of its conversation) for every line of eval/questions.jsonl.

    A line is one question, or a conversation (a list of them) whose follow-ups are asked with their history.
    """
    out = []
    with QUESTIONS.open(encoding="utf-8") as f:
        for line in filter(str.strip, f):
            item = json.loads(line)
            turns = [t["question"] for t in (item if isinstance(item, list) else [item])]
            out += [(q, turns[:i]) for i, q in enumerate(turns)]
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(root: Path) -> dict[str, str]:
    return {**child_env(), "RAG_CORPUS": str(root / "corpus"), "RAG_INDEX": str(root / "index"), "RAG_AUTH": ""}


def index_first(root: Path) -> None:
    """`rag index` in its own process, so that the app's memory is that of serving, not of indexing."""
    done = subprocess.run(
        [sys.executable, "-m", "rag", "index"], cwd=ROOT, env=app_env(root), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"rag index failed ({done.returncode}):\n{done.stderr[-3000:]}")


def start_app(root: Path, port: int) -> subprocess.Popen:
    """`python app.py` on root/corpus and root/index; returns once it answers HTTP (its output goes to root/app.log)."""
    env = app_env(root)
    with (root / "app.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{_tail(root / 'app.log')}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
            return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.5)
    stop_app(proc)
    raise RuntimeError(f"the app did not answer within {START_TIMEOUT:.0f} s:\n{_tail(root / 'app.log')}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of a running process (VmHWM), in MB; None if it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def ask_once(client, question: str, history: list[str]) -> str | None:
    """Ask one question through /ask; None if it was answered properly, else what went wrong."""
    try:
        answer = client.predict(question=question, history=history, api_name="/ask")
    except Exception as exc:  # any failure of the request counts, whatever gradio_client raises
        return f"{question!r}: {exc.__class__.__name__}: {exc}"[:300]
    if not isinstance(answer, dict) or not answer.get("passages"):
        return f"{question!r}: no passages in {str(answer)[:200]}"
    return None


def client_thread(url: str, questions: list[Question], first: int, n: int, go: threading.Barrier, result: LoadResult):
    """One client: its own Client, `n` questions from `first` on, latencies and errors into `result`."""
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, analytics_enabled=False)
    except Exception as exc:  # a client that cannot connect fails all its questions
        go.wait()
        result.errors.extend([f"connect: {exc.__class__.__name__}: {exc}"[:300]] * n)
        return
    try:
        go.wait()
        for i in range(n):
            question, history = questions[(first + i) % len(questions)]
            t0 = time.perf_counter()
            error = ask_once(client, question, history)
            if error:
                result.errors.append(error)  # list.append is atomic: threads share these lists safely
            else:
                result.latencies.append(time.perf_counter() - t0)
    finally:
        client.close()


def run_load(clients: int = 16, questions: int = 50, root: Path | None = None) -> LoadResult:
    """Start the app, ask `questions` questions from each of `clients` clients at once, stop the app.

    `root` is a folder holding `corpus/` (and possibly `index/`) to serve; by
    default a copy of the bundled corpus in a temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        if root is None:
            root = Path(tmp)
            shutil.copytree(ROOT / "corpus", root / "corpus")
        index_first(root)
        port = free_port()
        proc = start_app(root, port)
        try:
            return _ask_all(f"http://127.0.0.1:{port}/", proc, clients, questions)
        finally:
            stop_app(proc)


def _ask_all(url: str, proc: subprocess.Popen, clients: int, questions: int) -> LoadResult:
    result = LoadResult(clients, questions, load_before=os.getloadavg())
    texts = load_questions()
    go = threading.Barrier(clients + 1)  # every client connected before the clock starts
    step = max(1, len(texts) // clients)
    threads = [
        threading.Thread(target=client_thread, args=(url, texts, c * step, questions, go, result), daemon=True)
        for c in range(clients)
    ]
    for t in threads:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    result.wall = time.perf_counter() - t0
    result.load_after = os.getloadavg()
    result.server_peak_mb = peak_rss_mb(proc.pid)
    return result


def report(result: LoadResult) -> str:
    ms = [t * 1000 for t in result.latencies] or [float("nan")]
    peak = f"{result.server_peak_mb:.0f}" if result.server_peak_mb else "?"
    headers = ["clients", "questions", "errors", "p50 ms", "p95 ms", "max ms", "questions/s", "wall s"]
    headers.append("server peak MB")
    row = [
        result.clients,
        result.asked,
        len(result.errors),
        pct(ms, 50),
        pct(ms, 95),
        max(ms),
        result.asked / result.wall if result.wall else 0.0,
        result.wall,
        peak,
    ]

    def load(avg: tuple[float, float, float]) -> str:
        return ", ".join(f"{x:.2f}" for x in avg)

    lines = [
        table(headers, [row]),
        "",
        f"load average before: {load(result.load_before)}; after: {load(result.load_after)} (1, 5, 15 min)",
    ]
    lines += [f"error: {e}" for e in result.errors[:10]]
    if len(result.errors) > 10:
        lines.append(f"... and {len(result.errors) - 10} more errors")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="clients asking at once (threads)")
    parser.add_argument("--questions", type=int, default=50, help="questions asked by each client")
    args = parser.parse_args()
    if args.clients < 1 or args.questions < 1:
        parser.error("--clients and --questions must be at least 1")
    print(machine())
    print(f"web chat (python app.py), bundled corpus, /ask through gradio_client; questions from {QUESTIONS.name}\n")
    result = run_load(args.clients, args.questions)
    print(report(result))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
