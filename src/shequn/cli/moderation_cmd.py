"""``shequn moderation``: check messages with the built-in ad/spam detector, and teach it with marked samples."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from shequn.cli.context import console, err_console, fail, state

app = typer.Typer(
    help="Built-in ad/spam detection (广告识别): check messages, and teach the detector with spam/ham you mark.",
    no_args_is_help=True,
)

BATCH = 2_000  # messages scored per batch: the classifier is vectorized over a batch, memory stays bounded


def playbook_settings(path: Path):
    """Detector settings from a playbook: the rules module's ``spam`` section, if it has one."""
    from shequn.engine.registry import ModuleLoadError
    from shequn.moderation.detector import Settings
    from shequn.playbook.errors import PlaybookError
    from shequn.playbook.loader import load_playbook

    try:
        pb = load_playbook(path)
    except PlaybookError as exc:
        for problem in exc.problems:
            err_console.print(f"[red]{problem.format(exc.filename)}[/]", highlight=False)
        raise typer.Exit(1) from None
    except ModuleLoadError as exc:
        raise fail(str(exc)) from None
    section = getattr(pb.modules.get("rules"), "spam", None)  # validated with the playbook (SpamSection)
    if section is None:
        err_console.print(f"note: {path} has no spam/moderation settings (rules.spam); using the defaults", highlight=False)
        return Settings()
    return section.to_settings()


@app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A UTF-8 file with one message per line, or - for standard input.")],
    playbook: Annotated[Optional[Path], typer.Option("--playbook", "-p", help="Apply this playbook's detector "
                        "settings (threshold, extra stop words, allow-listed domains).")] = None,
    shipped: Annotated[bool, typer.Option("--shipped", help="Use the shipped model even if `learn` stored a newer one "
                                          "(no database needed).")] = False,
) -> None:
    """Print one JSON verdict per input line: {"spam", "score", "checks": [{"name", "spam", "details"}]}.

    Lines that are not valid UTF-8 are still checked (bad bytes replaced) and reported on stderr with their line number.
    Uses the model `shequn moderation learn` stored in the database if there is one, else the shipped model."""
    from shequn.moderation.corpus import iter_lines
    from shequn.moderation.detector import Detector

    if file != "-" and not Path(file).is_file():
        raise fail(f"{file}: no such file")
    detector = Detector.default() if shipped else _stored_detector(ctx)
    if playbook is not None:
        detector = detector.with_settings(playbook_settings(playbook))
    problems = 0
    out = sys.stdout
    batch: list[str] = []

    def flush() -> None:
        for verdict in detector.check_many(batch):
            out.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
        batch.clear()

    for line in iter_lines(file):
        if line.error:
            problems += 1
            err_console.print(f"warning: {file}:{line.error}", highlight=False)
        batch.append(line.text)
        if len(batch) >= BATCH:
            flush()
    flush()
    out.flush()
    if problems:
        err_console.print(f"{problems} line(s) were not valid UTF-8 (checked with the bad bytes replaced)", highlight=False)


def _stored_detector(ctx: typer.Context):
    from shequn.moderation.detector import Detector

    engine = state(ctx).engine()
    with engine.connect() as conn:
        return Detector.from_store(conn)


@app.command("learn")
def learn(
    ctx: typer.Context,
    spam: Annotated[Optional[Path], typer.Option("--spam", help="Messages that ARE spam, one per line.")] = None,
    ham: Annotated[Optional[Path], typer.Option("--ham", help="Messages that are NOT spam, one per line.")] = None,
    folds: Annotated[int, typer.Option("--folds", min=0, help="Cross-validation folds for the printed figures "
                                       "(0 = skip cross-validation).")] = 5,
) -> None:
    """Store marked samples (duplicates ignored) and retrain the model: shipped corpus + every stored sample.

    The new model is stored in the database (table moderation_models) and used by `check` and the rules module."""
    from shequn.moderation.corpus import read_text_lines
    from shequn.moderation.learning import add_samples, retrain, sample_counts

    if spam is None and ham is None:
        raise fail("give --spam FILE and/or --ham FILE (one message per line)")
    if folds == 1:
        raise fail("--folds must be 0 (skip) or at least 2")
    loaded: list[tuple[Path, bool, list[str]]] = []
    for path, is_spam in ((spam, True), (ham, False)):
        if path is None:
            continue
        if not path.is_file():
            raise fail(f"{path}: no such file")
        texts, problems = read_text_lines(path)
        for p in problems:
            err_console.print(f"warning: {p}", highlight=False)
        loaded.append((path, is_spam, texts))
    engine = state(ctx).engine()
    with engine.begin() as conn:
        for path, is_spam, texts in loaded:
            added = add_samples(conn, texts, spam=is_spam, source=str(path))
            kind = "spam" if is_spam else "ham"
            console.print(f"{kind}: {added.added} added, {added.duplicates} duplicate(s) ignored, "
                          f"{added.relabeled} relabeled ({path})", highlight=False)
        n_spam, n_ham = sample_counts(conn)
        with console.status("retraining (shipped corpus + your samples)..."):
            model, metrics = retrain(conn, folds=folds)
    console.print(f"retrained on {model.info['samples']} messages ({model.info['spam']} spam), including your "
                  f"{n_spam} spam and {n_ham} ham samples; stored in table moderation_models", highlight=False)
    if metrics:
        console.print(f"{metrics['folds']}-fold cross-validation of the full detector: precision {metrics['precision']:.3f}, "
                      f"recall {metrics['recall']:.3f}, F1 {metrics['f1']:.3f}, false-positive rate {metrics['fpr']:.4f} "
                      f"(tp {metrics['tp']}, fp {metrics['fp']}, fn {metrics['fn']}, tn {metrics['tn']})", highlight=False)
