"""Measure answer quality on a file of questions with expected answers.

A question file is JSON Lines; each line is one question or one conversation:

    {"question": "Who leads Rust for Linux?", "answers": ["Miguel Ojeda"]}
    {"question": "What is the capital of Australia?", "answers": []}      # unanswerable
    [{"question": "Who leads it?", "answers": ["Ojeda"]}, {"question": "When did he start?", "answers": ["2019"]}]
    {"question": "...", "answers": ["France"], "source": "Normans.txt", "spans": [[251, 257]], "kind": "answerable"}

A passage answers a question when it contains one of the answer strings (case,
curly quotes and white space ignored). When the question names its `source`
article and gold `spans` (character offsets in it), the passage must come from
that article and cover a gold span, and so must the highlight; an article of
the same name in another format (`Normans.html`) is judged by the strings.
Questions without answers are counted by their `kind` ("off_corpus",
"on_topic_unanswerable"; default "unanswerable"). Later turns of a
conversation are asked with the earlier questions as history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import InputError
from .phrase_metrics import exact_match, f1_score

__all__ = [
    "Turn",
    "TurnResult",
    "EvalReport",
    "load_questions",
    "normalise",
    "holds_answer",
    "judge",
    "summarise",
    "run_eval",
    "phrase_scores",
    "paragraph_at",
    "reader_eval",
    "format_report",
]

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
ANSWERABLE = "answerable"


@dataclass(frozen=True)
class Turn:
    question: str
    answers: tuple[str, ...]  # empty: the corpus cannot answer it
    history: tuple[str, ...] = ()  # earlier questions of the same conversation
    source: str | None = None  # the article that answers it, when known
    spans: tuple[tuple[int, int], ...] = ()  # gold [start, end) offsets of the answer in `source`
    kind: str = ""  # "answerable", "off_corpus", ...; default from `answers`

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    @property
    def category(self) -> str:
        return self.kind or (ANSWERABLE if self.answerable else "unanswerable")


@dataclass(frozen=True)
class TurnResult:
    question: str
    answerable: bool
    rank: int | None  # rank of the first passage holding an answer, None if none does
    highlight_hit: bool  # the highlight of that passage holds an answer
    answered: bool  # the engine claimed an answer (answered: true)
    history: tuple[str, ...] = ()
    features: dict = field(default_factory=dict)
    kind: str = ""
    top: str = ""  # what was shown first: "source: highlight"
    phrase_em: float = 0.0  # the answer phrase against the answer strings (SQuAD's normalisation), 0 when none
    phrase_f1: float = 0.0


@dataclass(frozen=True)
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr: float
    highlight_at_1: float  # answerable questions whose first passage and its highlight both hold the answer
    highlight_accuracy: float  # of the answers found in the top 5, the share whose highlight holds it
    abstention_precision: float
    abstention_recall: float
    false_refusals: int  # answerable questions marked unanswered
    phrase_em: float = 0.0  # answer phrase exact match over answerable questions (none given counts 0)
    phrase_f1: float = 0.0
    flagged: dict[str, float] = field(default_factory=dict)  # kind of unanswerable question -> share not answered
    follow_ups: dict[str, float] = field(default_factory=dict)  # later turns of conversations: count, hit@1, hit@3
    results: list[TurnResult] = field(default_factory=list)

    def to_json(self, details: bool = False) -> dict:
        out = {k: _rounded(v) for k, v in asdict(self).items() if k != "results"}
        if details:
            out["results"] = [asdict(r) for r in self.results]
        return out


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def normalise(text: str) -> str:
    """Lower case, straight quotes and single spaces.

    >>> normalise("Ojeda\u2019s  first\\nPR")
    "ojeda's first pr"
    """
    return " ".join(text.translate(_QUOTES).casefold().split())


def holds_answer(text: str, answers: Iterable[str]) -> bool:
    norm = normalise(text)
    return any(normalise(a) in norm for a in answers)


def load_questions(path: Path) -> list[list[Turn]]:
    """Conversations (a single question is a conversation of one turn) from a JSON Lines file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text.") from None
    conversations = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            items = item if isinstance(item, list) else item.get("turns", [item])
            conversations.append(_turns(items))
        except (ValueError, AttributeError, TypeError, KeyError):
            raise InputError(
                f'{path}, line {number}: expected {{"question": ..., "answers": [...]}} or a list of them.'
            ) from None
    if not conversations:
        raise InputError(f"{path} holds no questions.")
    return conversations


def _turns(items: list[dict]) -> list[Turn]:
    turns: list[Turn] = []
    for item in items:
        question, answers = item["question"], item.get("answers", [])
        if not isinstance(question, str) or not question.strip() or not isinstance(answers, list):
            raise ValueError
        source = item.get("source")
        spans = tuple((int(s), int(e)) for s, e in item.get("spans") or ())
        turns.append(
            Turn(
                question,
                tuple(str(a) for a in answers),
                tuple(t.question for t in turns),
                str(source) if source and spans else None,
                spans if source else (),
                str(item.get("kind") or ""),
            )
        )
    if not turns:
        raise ValueError
    return turns


def _stem(source: str) -> str:
    return PurePosixPath(source).stem


def _covers(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= s and e <= end for s, e in spans)


def _judge_result(turn: Turn, result) -> tuple[bool, bool]:
    """Whether one result (a rag.answer.results.Result) holds the answer, and whether its highlight does."""
    source = result.citation.source
    if turn.source is not None and source == turn.source and turn.spans:
        start = result.citation.start
        passage = _covers(start, result.citation.end, turn.spans)
        return passage, passage and _covers(start + result.highlight_start, start + result.highlight_end, turn.spans)
    if turn.source is not None and source != turn.source and _stem(source) != _stem(turn.source):
        return False, False
    return holds_answer(result.text, turn.answers), holds_answer(result.highlight, turn.answers)


def judge(turn: Turn, answer) -> TurnResult:
    """Score one answer (a rag.answer.results.Answer) against the expected answers."""
    rank, highlight_hit = None, False
    if turn.answerable:
        for r in answer.results:
            passage, highlight = _judge_result(turn, r)
            if passage:
                rank, highlight_hit = r.rank, highlight
                break
    first = answer.results[0] if answer.results else None
    features = dict(first.explain) if first else {}
    top = f"{first.citation.source}: {first.highlight}" if first else ""
    phrase = getattr(answer, "phrase", None)
    em, f1 = phrase_scores(phrase.text, turn.answers) if phrase is not None else (0.0, 0.0)
    return TurnResult(
        turn.question,
        turn.answerable,
        rank,
        highlight_hit,
        answer.answered,
        turn.history,
        features,
        turn.category,
        top,
        em,
        f1,
    )


def phrase_scores(phrase: str, answers: Sequence[str]) -> tuple[float, float]:
    """Best exact match and F1 of `phrase` against any answer string (0, 0 when there are none)."""
    if not answers:
        return 0.0, 0.0
    return max(exact_match(phrase, a) for a in answers), max(f1_score(phrase, a) for a in answers)


def summarise(results: Sequence[TurnResult]) -> EvalReport:
    """hit@k and MRR over answerable turns; abstention precision and recall over all; each kind apart.

    Highlight accuracy counts, among answerable turns whose answer was retrieved
    in the top 5, those whose highlighted sentence holds the answer.
    """
    pos = [r for r in results if r.answerable]
    neg = [r for r in results if not r.answerable]
    retrieved = [r for r in pos if r.rank is not None and r.rank <= 5]
    abstained = [r for r in results if not r.answered]
    correct_abstentions = sum(1 for r in abstained if not r.answerable)
    kinds = sorted({_kind(r) for r in neg})
    later = [r for r in pos if r.history]
    return EvalReport(
        questions=len(results),
        answerable=len(pos),
        unanswerable=len(neg),
        hit_at_1=_share(pos, lambda r: r.rank == 1),
        hit_at_3=_share(pos, lambda r: r.rank is not None and r.rank <= 3),
        hit_at_5=_share(pos, lambda r: r.rank is not None and r.rank <= 5),
        mrr=sum(1 / r.rank for r in pos if r.rank) / len(pos) if pos else 0.0,
        highlight_at_1=_share(pos, lambda r: r.rank == 1 and r.highlight_hit),
        highlight_accuracy=_share(retrieved, lambda r: r.highlight_hit),
        abstention_precision=correct_abstentions / len(abstained) if abstained else 1.0,
        abstention_recall=correct_abstentions / len(neg) if neg else 1.0,
        false_refusals=sum(1 for r in pos if not r.answered),
        phrase_em=sum(r.phrase_em for r in pos) / len(pos) if pos else 0.0,
        phrase_f1=sum(r.phrase_f1 for r in pos) / len(pos) if pos else 0.0,
        flagged={k: _share([r for r in neg if _kind(r) == k], lambda r: not r.answered) for k in kinds},
        follow_ups={
            "turns": len(later),
            "hit_at_1": _share(later, lambda r: r.rank == 1),
            "hit_at_3": _share(later, lambda r: r.rank is not None and r.rank <= 3),
        }
        if later
        else {},
        results=list(results),
    )


def _kind(result: TurnResult) -> str:
    return result.kind or ("answerable" if result.answerable else "unanswerable")


def _share(items, test) -> float:
    return sum(1 for r in items if test(r)) / len(items) if items else 0.0


def run_eval(engine, conversations: Sequence[Sequence[Turn]], k: int = 5) -> EvalReport:
    """Ask every turn (later turns with their history) and score the answers."""
    engine.warm([t.question for turns in conversations for t in turns])
    results = []
    for turns in conversations:
        for turn in turns:
            results.append(judge(turn, engine.ask(turn.question, k=k, history=list(turn.history))))
    return summarise(results)


def format_report(report: EvalReport, details: bool = False) -> str:
    """The report as `rag eval` prints it."""
    r = report
    lines = [
        f"{r.questions} questions: {r.answerable} answerable, {r.unanswerable} unanswerable",
        f"hit@1 {r.hit_at_1:.3f}   hit@3 {r.hit_at_3:.3f}   hit@5 {r.hit_at_5:.3f}   MRR {r.mrr:.3f}",
        f"highlight@1 {r.highlight_at_1:.3f}   highlight accuracy {r.highlight_accuracy:.3f}",
        f"answer phrase EM {r.phrase_em:.3f}   F1 {r.phrase_f1:.3f}",
        f"abstention precision {r.abstention_precision:.3f}   recall {r.abstention_recall:.3f}   "
        f"({r.false_refusals} of {r.answerable} answerable questions refused)",
    ]
    for kind, share in r.flagged.items():
        count = sum(1 for t in r.results if not t.answerable and _kind(t) == kind)
        lines.append(f"{kind}: {share:.3f} of {count} flagged as not answered")
    if r.follow_ups:
        f = r.follow_ups
        lines.append(f"follow-ups: {f['turns']} turns, hit@1 {f['hit_at_1']:.3f}   hit@3 {f['hit_at_3']:.3f}")
    if details:
        lines += _misses(r.results)
    return "\n".join(lines)


def _misses(results: Sequence[TurnResult]) -> list[str]:
    lines = []
    for t in results:
        if t.answerable and (t.rank != 1 or not t.highlight_hit or not t.answered):
            lines.append(
                f"  rank {t.rank or '-'}  highlight {'ok' if t.highlight_hit else 'miss'}  "
                f"{'answered' if t.answered else 'refused'}  {t.question}"
            )
        elif not t.answerable and t.answered:
            lines.append(f"  answered ({_kind(t)}): {t.question}")
        else:
            continue
        if t.top:
            lines.append(f"      shown first: {t.top[:200]}")
    return lines


def paragraph_at(text: str, offset: int) -> str:
    """The blank-line-separated paragraph of `text` holding `offset`."""
    start = text.rfind("\n\n", 0, offset)
    end = text.find("\n\n", offset)
    return text[start + 2 if start >= 0 else 0 : end if end >= 0 else len(text)]


def reader_eval(reader, conversations: Sequence[Sequence[Turn]], corpus: Path) -> dict:
    """The reader alone: each answerable question with gold spans, given the paragraph holding its first span.

    Returns {"questions", "em", "f1"} in SQuAD's way (best over the answer strings, averaged).
    """
    turns = [t for conv in conversations for t in conv if t.answerable and t.source and t.spans]
    if not turns:
        raise InputError("no answerable questions with a source and spans to read: --reader-only needs them.")
    em = f1 = 0.0
    for turn in turns:
        assert turn.source is not None  # only turns with a source are kept above
        try:
            text = (corpus / turn.source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise InputError(
                f"cannot read {corpus / turn.source}: --reader-only reads the plain-text articles."
            ) from None
        paragraph = paragraph_at(text, turn.spans[0][0])
        [reading] = reader.read(turn.question, [paragraph])
        e, f = phrase_scores(paragraph[reading.start : reading.end], turn.answers)
        em, f1 = em + e, f1 + f
    return {"questions": len(turns), "em": em / len(turns), "f1": f1 / len(turns)}
