"""Reply inference: for each chat message, which earlier message(s) it answers.

For platforms whose exports carry no reply links (IRC, WeChat, QQ): a small feed-forward model
scores each message against its previous K=50 messages in the same group and against "starts a
conversation", from addressee mentions, time gap, position, the authors' own runs, word overlap
(English words, Chinese character bigrams) and question / greeting / thanks cues. Trained only on
the ubuntu-irc train split (``python -m shequn.insights.replies.train``); the weights ship as
``model.json`` in this package. See docs/replies.md.

Library API (other insights call this)::

    infer_replies(events: Iterable[StoredEvent]) -> Iterator[tuple[StoredEvent, list[str]]]

``events`` are stored events in time order (``store.event_reader.iter_stored_events``), of any
kind. Every event is yielded back once, in input order, with the platform ids of the messages it
answers: ``[]`` means it starts a conversation (and is what non-chat events get); an explicit
``reply_to`` from the platform always wins. Streams with memory bounded by a chunk of events plus
K messages per group, so it is cheap over millions of events. Optional keywords: ``model=`` (a
``ReplyModel`` from ``load_model(path)``), ``chunk=`` (events per scoring pass).
"""

__all__ = ["infer_replies", "load_model", "ReplyModel"]


def __getattr__(name: str):
    """Imported on first use: the model pulls in SciPy, which most commands (and the modules that
    only need ``replies.text``) never use; the CLI starts a tenth of a second sooner."""
    if name == "infer_replies":
        from shequn.insights.replies.infer import infer_replies

        return infer_replies
    if name in ("ReplyModel", "load_model"):
        from shequn.insights.replies import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
