"""Command line: `rag index`, `rag ask`, `rag chat`, `rag add`, `rag eval`, `rag serve`.

Exit codes: 0 done; 1 the command could not do its job (a one-line message
on stderr says why and what to do, never a traceback); 2 the command line is
wrong; 130 interrupted. Heavy libraries are imported inside the commands that
need them, so `rag --help` is quick.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from .config import Settings
from .errors import CorpusError, EmptyQuestionError, InputError, RagError
from .messages import no_articles, update_summary, why_not_answered
from .terminal import json_line, one_line, printable

__all__ = ["main"]


def common(f):
    """--corpus, --index, --store and --model, shared by every command that touches the index."""

    @click.option("--corpus", type=click.Path(path_type=Path), help="Folder of articles [default: ./corpus].")
    @click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder [default: ./index].")
    @click.option(
        "--store",
        metavar="URL",
        help="Keep the index in Milvus instead: milvus:///path/to/file.db (Milvus Lite) or milvus://host:19530.",
    )
    @click.option("--model", help="sentence-transformers model name or path [default: bundled all-MiniLM-L6-v2].")
    @click.option(
        "--follow-links",
        is_flag=True,
        default=None,
        help="Also read files and folders that links in the corpus lead to outside it [env RAG_FOLLOW_LINKS=1].",
    )
    @functools.wraps(f)
    def wrapper(corpus, index_dir, store, model, follow_links, **kwargs):
        try:
            settings = Settings.load(
                corpus=corpus, index=index_dir, store=store, model=model, k=kwargs.get("k"), follow_links=follow_links
            )
            return f(settings, **kwargs)
        except RagError as exc:
            raise click.ClickException(one_line(str(exc))) from None
        except OSError as exc:  # the file system said no: a full disk, a folder we may not write...
            where = f" ({exc.filename})" if exc.filename else ""
            raise click.ClickException(one_line(f"{exc.strerror or exc}{where}.")) from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(130) from None

    return wrapper


def make_engine(settings: Settings):
    """`Engine(settings)`, or what the caller of `main` handed in as `obj`: a function of the settings.

    Tests run the real commands with an engine of their own: `CliRunner().invoke(main, args, obj=factory)`.
    """
    context = click.get_current_context(silent=True)
    factory = context.find_root().obj if context else None
    if factory is not None:
        return factory(settings)
    from .engine import Engine

    return Engine(settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what is being done.")
@click.version_option(package_name="rag")
def main(verbose: bool) -> None:
    """Ask questions of a folder of articles; answers are the articles' own passages, with citations."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s", stream=sys.stderr)
    for noisy in ("httpx", "sentence_transformers", "transformers", "faiss", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged PDFs are reported as skipped instead
    logging.getLogger("trafilatura").setLevel(logging.ERROR)  # its notes on each page it reads


@main.command("index")
@common
@click.option("--full", is_flag=True, help="Rebuild everything, not only what changed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--watch", is_flag=True, help="Then keep indexing articles as they are saved, changed or deleted.")
def index_cmd(settings: Settings, full: bool, as_json: bool, watch: bool) -> None:
    """Index new and changed articles; drop deleted ones."""
    engine = make_engine(settings)
    report = _update(engine, full)
    _echo_report(report, as_json)
    if watch:
        _watch(engine, as_json)


def _watch(engine, as_json: bool) -> None:
    """Follow the corpus folder until Ctrl-C: one update, and one summary, per burst of changes."""
    from .watch import CorpusWatcher

    def show(status) -> None:
        report = status.report
        if status.indexing or status.error is not None or report is None:
            click.echo(one_line(status.line()), err=True)
        elif as_json or report.changed or report.skipped:
            _echo_report(report, as_json)
        else:  # the web chat, or another `rag index`, had indexed the changes: say so rather than "0 added"
            click.echo(one_line(status.line()), err=True)

    click.echo(one_line(f"Watching {engine.settings.corpus} for changes; press Ctrl+C to stop."), err=True)
    try:
        CorpusWatcher(engine, on_update=show).run()
    except KeyboardInterrupt:
        click.echo("Stopped watching.", err=True)
        raise click.exceptions.Exit(130) from None


def _echo_report(report, as_json: bool) -> None:
    if as_json:
        click.echo(json_line(report.to_json()))
        return
    if report.rebuilt:
        click.echo(one_line(f"Rebuilt the index: {report.rebuilt}."), err=True)
    click.echo(update_summary(report, detail=True))
    _echo_skipped(report)


def _echo_skipped(report) -> None:
    for s in report.skipped:
        click.echo(one_line(f"skipped {s.source}: {s.reason}"), err=True)


def _update(engine, full: bool = False):
    from tqdm import tqdm

    bar = None

    def progress(done: int, total: int) -> None:
        """Passages and sentences embedded: what an earlier run left in the cache counts as done from the start."""
        nonlocal bar
        if bar is None:
            tty = sys.stderr.isatty()
            bar = tqdm(total=total, initial=done, unit="text", desc="Embedding", disable=not tty, smoothing=0.05)
            if done:
                bar.set_postfix_str(f"{done} from the cache", refresh=False)
        bar.update(done - bar.n)

    try:
        return engine.update(full=full, progress=progress)
    finally:
        if bar is not None:
            bar.close()


within_option = click.option(
    "--in",
    "within",
    multiple=True,
    metavar="GLOB",
    help="Answer only from these articles: a path in the corpus, a glob or a sub-folder (repeatable).",
)


@main.command()
@common
@click.argument("question", nargs=-1, required=True)
@click.option("-k", type=int, help="How many passages to show, 1-100 [default: 5].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question, one per line.")
@click.option("--explain", is_flag=True, help="Show how each retriever ranked each passage, with the scores.")
@within_option
def ask(
    settings: Settings, question: tuple[str, ...], k: int | None, as_json: bool, explain: bool, within: tuple[str, ...]
) -> None:
    """Answer QUESTION from the articles.

    \b
      rag ask "Who led the project?"               one question
      rag ask Who led the project                  unquoted words: one question
      rag ask "Who led it?" "When did it start?"   each quoted question answered in turn
      rag ask - < questions.txt                    one question per line from stdin
      rag ask --in 'reports/*' --in manual.pdf Q   only from these articles

    Several arguments with spaces in them are several questions; several
    single words are the words of one question; a mix of the two is refused.
    A question that cannot be answered among several (empty of words, too
    long, not UTF-8) gets a message on stderr (and, with --json, an object
    with an "error" key in its place); the others are answered and the exit
    code is 1.
    """
    questions = _stdin_questions() if question == ("-",) else _argument_questions(question)
    checked = [(number, text, _problem(text)) for number, text in questions]
    single = len(checked) == 1 and checked[0][0] is None
    if single and checked[0][2]:
        raise _with_example(checked[0][2], settings)  # one bad question: refused before anything is loaded
    engine = None
    if any(problem is None for *_, problem in checked):
        engine = make_engine(settings)
        _ready(engine)
        engine.chosen(within)  # a selection naming no article is refused once, in one line
    failed = 0
    for position, (number, text, problem) in enumerate(checked, 1):
        if problem is None:
            assert engine is not None  # made above when some question is good
            try:
                answer = engine.ask(text, k, within=within)
            except InputError as exc:
                problem = exc
        if problem is not None:
            if single:
                raise problem
            failed += 1
            where = f"line {number}" if number is not None else f"question {position}"
            click.echo(one_line(f"{where}: {problem}"), err=True)
            if as_json:
                click.echo(json_line({"question": text, "error": str(problem)}))
        elif as_json:
            click.echo(json_line(answer.to_json(explain)))
        else:
            if not single:
                click.echo(one_line(f"? {answer.question}") + "\n")
            click.echo(format_answer(answer, explain))
    if failed:
        raise InputError(f"{failed} of {len(checked)} questions could not be answered (see above).")


def _ready(engine) -> None:
    """Check the corpus has articles, bring the index up to date, and refuse an index with nothing in it."""
    engine.require_articles()  # before the model is loaded or anything is written
    report = engine.ensure_current(notify=lambda msg: click.echo(one_line(msg), err=True))
    skipped = len(report.skipped) if report else 0
    if not engine.store().manifest.documents:
        raise CorpusError(no_articles(engine.settings.corpus, skipped))
    if skipped:
        click.echo(f"{skipped} file(s) skipped; `rag index` lists them with the reasons.", err=True)


def _with_example(problem: InputError, settings: Settings) -> InputError:
    """An empty question's error, with an example question taken from the user's own corpus."""
    if not isinstance(problem, EmptyQuestionError):
        return problem
    examples = make_engine(settings).example_questions(1)
    if not examples:
        return InputError(f'{str(problem).rstrip(".")}, e.g. rag ask "What is this article about?"')
    return InputError(f"{str(problem).rstrip('.')}, e.g. rag ask {_quoted(examples[0])}")


def _quoted(text: str) -> str:
    """`text` quoted for a shell: double quotes unless it holds characters they do not protect."""
    return f'"{text}"' if not any(ch in text for ch in '"$`\\!') else "'" + text.replace("'", "'\\''") + "'"


def _argument_questions(words: tuple[str, ...]) -> list[tuple[int | None, str]]:
    """The questions given as arguments: one quoted question, unquoted words of one, or several quoted ones."""
    texts = [_argument_question(w) for w in words]
    quoted = [len(t.split()) > 1 for t in texts]
    if len(texts) > 1 and all(quoted):
        return [(None, t) for t in texts]
    if len(texts) > 1 and any(quoted):
        raise InputError(
            "some arguments are quoted questions and some single words: put each question in its own quotes, "
            'e.g. rag ask "Who led it?" "When did it start?"'
        )
    return [(None, " ".join(texts))]


def _problem(text: str | None) -> InputError | None:
    """Why a question cannot be asked, or None; None text stands for a line that was not UTF-8."""
    from .answer.question import clean_question

    if text is None:
        return InputError("not valid UTF-8 text; save the questions as UTF-8.")
    try:
        clean_question(text)
    except InputError as exc:
        return exc
    return None


def _argument_question(text: str) -> str:
    """A question given as an argument; refuses bytes that were not UTF-8."""
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # how Python keeps undecodable bytes of argv
        raise InputError("the question is not valid UTF-8 text; check your terminal's encoding.")
    return text


def _stdin_questions() -> list[tuple[int, str | None]]:
    """(line number, question) for each non-blank line of stdin; None for a line that is not UTF-8."""
    data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise InputError(f"more than {MAX_STDIN_BYTES // 1_000_000} MB of questions on stdin; send fewer at a time.")
    questions: list[tuple[int, str | None]] = []
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            questions.append((number, None))
            continue
        if line.strip():
            questions.append((number, line))
    if not questions:
        raise InputError("no questions on stdin: give one question per line.")
    return questions


MAX_STDIN_BYTES = 10_000_000


def _stdin_lines():
    """The questions on stdin, one per line, for a conversation; a line that is not UTF-8 stops it."""
    for number, text in _stdin_questions():
        if text is None:
            raise InputError(f"line {number} of stdin is not valid UTF-8 text; save the questions as UTF-8.")
        yield text


_CLOSEST = "The closest passages (low confidence):"
_LOW_CONFIDENCE = f"the articles do not seem to answer this. {_CLOSEST}"


def format_answer(answer, explain: bool = False) -> str:
    """Human-readable answer, the answer first: the confidence in words and the phrase (or the best
    sentence), the sentence with the phrase marked and its citation; then the passages, then the sources.

    Only passages that answer have their sentence marked; scores appear with `explain` alone.
    """
    if not answer.results:
        return "No passages in the index.\n"
    bold = sys.stdout.isatty()

    def mark(text: str) -> str:
        return f"\033[1m{text}\033[0m" if bold else f"»{text}«"

    if answer.answered:
        lines = _lead_lines(answer, mark)
    elif reason := why_not_answered(answer):  # names no article mentions, or a sentence saying the opposite
        lines = [f"{answer.confidence}. {reason} {_CLOSEST}"]
    else:
        lines = [f"{answer.confidence}: {_LOW_CONFIDENCE}"]
    lines += ["", "Passages:" if answer.answered else ""]
    for r in answer.results:
        c = r.citation
        where = f"{c.where}, " if c.where else ""
        head = f"[{r.rank}] {c.title} — {c.source}, {where}characters {c.start}-{c.end}"
        # a newline in a file name or title must not start a line of its own
        lines.append(one_line(head + (f"  (score {r.score:.3f})" if explain else "")))
        parts = (r.text[: r.highlight_start], r.highlight, r.text[r.highlight_end :])
        before, hl, after = (printable(t) for t in parts)
        lines.append("    " + " ".join(f"{before}{mark(hl) if r.answers else hl}{after}".split()))
        if r.also_in:
            lines.append(one_line("    also in: " + "; ".join(_cited(a) for a in r.also_in)))
        if explain:
            lines.append("    " + one_line(", ".join(f"{k}={v}" for k, v in r.explain.items())))
        lines.append("")
    lines.append("Sources:")
    for source, (title, url, ranks) in _sources(answer.results).items():
        link = f" <{url}>" if url else ""
        lines.append(one_line(f"  [{', '.join(map(str, ranks))}] {title} — {source}{link}"))
    return "\n".join(line for line in _single_blanks(lines)).rstrip() + "\n"


def _lead_lines(answer, mark) -> list[str]:
    """The top of an answered question: confidence and answer, the sentence holding it, its citation."""
    lead = answer.lead
    c = lead.result.citation
    if lead.phrase is not None and lead.mark is not None:
        a, b = lead.mark
        # a phrase across a line break reads as one line
        top = f"{answer.confidence}: {one_line(' '.join(lead.phrase.split()))}"
        sentence = printable(lead.sentence[:a]) + mark(printable(lead.sentence[a:b])) + printable(lead.sentence[b:])
        lines = [top, "    " + " ".join(sentence.split())]
    else:
        lines = [f"{answer.confidence}: " + " ".join(printable(lead.sentence).split())]
    link = f" <{c.url}>" if c.url else ""
    lines.append(one_line(f"    [{lead.result.rank}] {_cited(c)}{link}"))
    return lines


def _cited(c) -> str:
    """A citation in one line: "Title — file, where"."""
    return f"{c.title} — {c.source}" + (f", {c.where}" if c.where else "")


def _sources(results) -> dict[str, tuple[str, str | None, list[int]]]:
    """Each article cited, in order of first citation: its title, url and the numbers of its passages."""
    out: dict[str, tuple[str, str | None, list[int]]] = {}
    for r in results:
        for c in (r.citation, *r.also_in):
            out.setdefault(c.source, (c.title, c.url, []))[2].append(r.rank)
    return {s: (t, u, sorted(set(ranks))) for s, (t, u, ranks) in out.items()}


def _single_blanks(lines: list[str]) -> list[str]:
    """`lines` with no two blank lines in a row."""
    return [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]


@main.command()
@common
@click.option("-k", type=click.IntRange(1, 100), help="How many passages to show [default: 5].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per turn, one per line (as `rag ask --json`).")
@click.option("--explain", is_flag=True, help="Show how each retriever ranked each passage, with the scores.")
@within_option
def chat(settings: Settings, k: int | None, as_json: bool, explain: bool, within: tuple[str, ...]) -> None:
    """A conversation: each question is read in the light of the earlier ones.

    In a terminal, type questions at the prompt (an empty line or Ctrl-D ends);
    otherwise one question per line is read from stdin.
    """
    engine = make_engine(settings)
    _ready(engine)
    engine.chosen(within)
    interactive = sys.stdin.isatty()
    history: list[str] = []
    for question in _prompted() if interactive else _stdin_lines():
        try:
            answer = engine.ask(question, k, history=history, within=within)
        except InputError as exc:
            if not interactive:
                raise
            click.echo(one_line(f"Error: {exc}"), err=True)
            continue
        history.append(answer.question)
        if as_json:
            click.echo(json_line(answer.to_json(explain)))
            continue
        if not interactive:
            click.echo(one_line(f"? {answer.question}") + "\n")
        click.echo(format_answer(answer, explain))


def _prompted():
    """Questions typed at a prompt, until an empty line or end of input."""
    while True:
        try:
            line = click.prompt("?", prompt_suffix=" ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo("", err=True)
            return
        if not line.strip():
            return
        yield line


@main.command("eval")
@common
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option(
    "--beir",
    "beir_dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Score a BEIR-format data set instead: a folder holding corpus.jsonl, queries.jsonl and qrels/test.tsv.",
)
@click.option("--split", default="test", show_default=True, help="Which qrels split of the BEIR set to score.")
@click.option(
    "--work", type=click.Path(path_type=Path), help="Where the BEIR set's index is kept [default: a cache folder]."
)
@click.option("--chunk-size", type=int, help="Passage size for the BEIR set's index [default: as configured].")
@click.option("--chunk-overlap", type=int, help="Passage overlap for the BEIR set's index [default: as configured].")
@click.option("-k", type=click.IntRange(1, 100), help="Passages per answer [default: 5].")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("--details", is_flag=True, help="Also list every question that missed.")
@click.option(
    "--reader-only",
    is_flag=True,
    help="Score the answer-phrase reader alone, given each question's gold paragraph (needs source and spans).",
)
def eval_cmd(
    settings, file, beir_dir, split, work, chunk_size, chunk_overlap, k, as_json, details, reader_only
) -> None:
    """Measure answer quality on the corpus, or retrieval quality on a public benchmark.

    \b
      rag eval eval/questions.jsonl        questions about the corpus, with their answers
      rag eval --beir DATA/scifact         a BEIR data set, e.g. SciFact

    FILE is JSON Lines, one {"question": ..., "answers": [...]} per line
    ("answers": [] for a question the articles cannot answer); it prints hit@1,
    hit@3, hit@5, MRR, highlight accuracy and abstention.

    --beir takes a folder in the format of the BEIR benchmark's public data
    sets (SciFact, NFCorpus, FiQA, ...): corpus.jsonl (documents), queries.jsonl
    and qrels/SPLIT.tsv (which documents answer which query). Its documents are
    indexed in a cache folder (reused on the next run) and nDCG@10 and
    recall@100 are printed.
    """
    if file is None and beir_dir is None:
        raise InputError(
            "nothing to score: give a question FILE (e.g. rag eval eval/questions.jsonl) "
            "or a BEIR folder with --beir DIR."
        )
    if file is not None and beir_dir is not None:
        raise InputError("give a question FILE or --beir DIR, not both: run them one at a time.")
    if beir_dir is not None:
        chunking = {"chunk_size": chunk_size, "chunk_overlap": chunk_overlap}
        _eval_beir(
            settings.with_(**{name: v for name, v in chunking.items() if v is not None}), beir_dir, split, work, as_json
        )
        return
    from .evaluate.beir import looks_like_beir
    from .evaluate.questions import format_report, load_questions, run_eval

    if looks_like_beir(file):
        raise InputError(f"{file} is a BEIR data set folder: score it with rag eval --beir {file}")
    conversations = load_questions(file)
    if reader_only:
        from .answer.reading import load_reader
        from .evaluate.questions import reader_eval

        scores = reader_eval(load_reader(), conversations, settings.corpus)
        n, em, f1 = scores["questions"], scores["em"], scores["f1"]
        line = f"reader alone, {n} questions given their paragraph: EM {em:.3f}   F1 {f1:.3f}"
        click.echo(json_line(scores) if as_json else line)
        return
    engine = make_engine(settings)
    _ready(engine)
    report = run_eval(engine, conversations, k=k or 5)
    if as_json:
        click.echo(json_line(report.to_json(details)))
        return
    click.echo(printable(format_report(report, details)))


def _eval_beir(settings: Settings, folder: Path, split: str, work: Path | None, as_json: bool) -> None:
    from .evaluate.beir import check_beir, run_beir, work_folder

    check_beir(folder, split)  # before anything is written
    work = work or work_folder(folder, settings)
    report = run_beir(folder, work, settings, split=split, notify=lambda msg: click.echo(one_line(msg), err=True))
    if as_json:
        click.echo(json_line(report.to_json()))
        return
    click.echo(
        printable(
            f"{report.name} ({report.split}): {report.queries} queries over {report.documents} documents "
            f"({report.passages} passages)\n"
            f"nDCG@10 {report.ndcg_at_10:.4f}   recall@100 {report.recall_at_100:.4f}\n"
            f"indexing {report.index_seconds:.1f} s{' (reused)' if report.reused else ''}, "
            f"queries {report.query_seconds:.1f} s ({1000 * report.query_seconds / max(report.queries, 1):.1f} ms each)"
        )
    )


@main.command()
@common
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace articles of the same name [default: save as name-2.md].")
def add(settings: Settings, files: tuple[Path, ...], overwrite: bool) -> None:
    """Copy FILES into the corpus and update the index.

    Each file is read first; one that cannot be used is listed with the reason (exit code 1) and the others are
    still added. A name already in the corpus gets a number (notes-2.md) unless --overwrite is given.
    """
    report = make_engine(settings).add(files, overwrite=overwrite)
    for a in report.added:
        how = " (replaced the old one)" if a.replaced else f" (from {a.original})" if a.renamed else ""
        click.echo(one_line(f"Added {a.source}{how}: {a.title}"))
    for r in report.rejected:
        click.echo(one_line(f"Not added: {r.name}: {r.reason}"), err=True)
    if report.index:
        click.echo(f"{report.index.passages_total} passages in the index.")
        _echo_skipped(report.index)
    if report.rejected:
        raise click.exceptions.Exit(1)


@main.command()
@common
@click.argument("article")
@click.option("--start", type=click.IntRange(min=0), help="First character of the span to print [default: 0].")
@click.option("--end", type=click.IntRange(min=0), help="Character after the span [default: the end].")
def show(settings: Settings, article: str, start: int | None, end: int | None) -> None:
    """Print the text of ARTICLE as it is indexed (or the span --start N --end M of it), to check a citation.

    ARTICLE is the source a citation names, relative to the corpus: `rag show Normans.pdf --start 120 --end 700`.
    """
    from .show import indexed_text

    text, note = indexed_text(settings, article)
    if note:
        click.echo(one_line(note), err=True)
    start = start or 0
    end = len(text) if end is None else end
    if start > len(text) or end < start:
        raise click.ClickException(f"the span {start}-{end} is outside the article's {len(text)} characters.")
    click.echo(printable(text[start:end]))  # the article's own escapes, shown and never run


@main.command()
@common
@click.option("--host", help="Address to listen on [default: 127.0.0.1, this computer only].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on [default: 7860].")
@click.option(
    "--open", "open_", is_flag=True, help="Allow an address other computers can reach without a password (RAG_AUTH)."
)
@click.option(
    "--watch/--no-watch", default=True, show_default=True, help="Index articles as they are saved into the corpus."
)
def serve(settings: Settings, host: str | None, port: int | None, open_: bool, watch: bool) -> None:
    """Start the web chat, after bringing the index up to date."""
    from .web.server import serve as serve_web

    changes = {name: value for name, value in (("host", host), ("port", port)) if value is not None}
    notify = lambda msg: click.echo(one_line(msg), err=True)  # noqa: E731
    serve_web(settings.with_(**changes), open_=open_, notify=notify, watch=watch)


if __name__ == "__main__":  # pragma: no cover
    main()
