"""The web chat: the page (chat.py), its HTML (render.py, web.css) and serving it (server.py).

    from rag.web.server import serve
    serve(Settings.load())     # what `python app.py` and `rag serve` run

Imported only by the commands that serve the page: gradio is heavy.
"""
