"""Measure answer quality on a file of questions with expected answer strings.

A question file is JSON Lines; each line is one question or one conversation:

    {"question": "Who leads Rust for Linux?", "answers": ["Miguel Ojeda"]}
    {"question": "What is the capital of Australia?", "answers": []}      # unanswerable
    [{"question": "Who leads it?", "answers": ["Ojeda"]}, {"question": "When did he start?", "answers": ["2019"]}]

A passage "holds" an answer when it contains one of the answer strings
(case, curly quotes and white space ignored). Later turns of a conversation
are asked with the earlier questions as history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import InputError

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
    "missing_answers",
]

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


@dataclass(frozen=True)
class Turn:
    question: str
    answers: tuple[str, ...]  # empty: the corpus cannot answer it
    history: tuple[str, ...] = ()  # earlier questions of the same conversation

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class TurnResult:
    question: str
    answerable: bool
    rank: int | None  # rank of the first passage holding an answer, None if none does
    highlight_hit: bool  # the highlight of that passage holds an answer
    answered: bool  # the engine claimed an answer (answered: true)
    history: tuple[str, ...] = ()
    features: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr: float
    highlight_accuracy: float
    abstention_precision: float
    abstention_recall: float
    false_refusals: int  # answerable questions marked unanswered
    results: list[TurnResult] = field(default_factory=list)

    def to_json(self, details: bool = False) -> dict:
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items() if k != "results"}
        if details:
            out["results"] = [asdict(r) for r in self.results]
        return out


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
        turns.append(Turn(question, tuple(str(a) for a in answers), tuple(t.question for t in turns)))
    if not turns:
        raise ValueError
    return turns


def judge(turn: Turn, answer) -> TurnResult:
    """Score one answer (a rag.answer.Answer) against the expected answer strings."""
    rank, highlight_hit = None, False
    for r in answer.results:
        if turn.answerable and holds_answer(r.text, turn.answers):
            rank, highlight_hit = r.rank, holds_answer(r.highlight, turn.answers)
            break
    features = dict(answer.results[0].explain) if answer.results else {}
    return TurnResult(turn.question, turn.answerable, rank, highlight_hit, answer.answered, turn.history, features)


def summarise(results: Sequence[TurnResult]) -> EvalReport:
    """hit@k and MRR over answerable turns; abstention precision and recall over all.

    Highlight accuracy counts, among answerable turns whose answer was retrieved
    in the top 5, those whose highlighted sentence holds the answer.
    """
    pos = [r for r in results if r.answerable]
    neg = [r for r in results if not r.answerable]
    retrieved = [r for r in pos if r.rank is not None and r.rank <= 5]
    abstained = [r for r in results if not r.answered]
    correct_abstentions = sum(1 for r in abstained if not r.answerable)
    return EvalReport(
        questions=len(results),
        answerable=len(pos),
        unanswerable=len(neg),
        hit_at_1=_share(pos, lambda r: r.rank == 1),
        hit_at_3=_share(pos, lambda r: r.rank is not None and r.rank <= 3),
        hit_at_5=_share(pos, lambda r: r.rank is not None and r.rank <= 5),
        mrr=sum(1 / r.rank for r in pos if r.rank) / len(pos) if pos else 0.0,
        highlight_accuracy=_share(retrieved, lambda r: r.highlight_hit),
        abstention_precision=correct_abstentions / len(abstained) if abstained else 1.0,
        abstention_recall=correct_abstentions / len(neg) if neg else 1.0,
        false_refusals=sum(1 for r in pos if not r.answered),
        results=list(results),
    )


def _share(items, test) -> float:
    return sum(1 for r in items if test(r)) / len(items) if items else 0.0


def run_eval(engine, conversations: Sequence[Sequence[Turn]], k: int = 5) -> EvalReport:
    """Ask every turn (later turns with their history) and score the answers."""
    results = []
    for turns in conversations:
        for turn in turns:
            results.append(judge(turn, engine.ask(turn.question, k=k, history=list(turn.history))))
    return summarise(results)


def missing_answers(conversations: Sequence[Sequence[Turn]], texts: Iterable[str]) -> list[str]:
    """Answer strings found in none of `texts`: typos in a question file."""
    corpus = [normalise(t) for t in texts]
    return [
        a for turns in conversations for t in turns for a in t.answers if not any(normalise(a) in c for c in corpus)
    ]
