"""Choosing where the index lives: --store / RAG_STORE, checked before anything is opened."""

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import MilvusLocation, Settings, parse_store_url
from rag.errors import ConfigError
from rag.index.backends import FaissBackend, open_backend, separate_index
from rag.index.milvus import MilvusBackend, bm25_terms


@pytest.mark.parametrize(
    "url, location",
    [
        ("milvus:///data/rag.db", MilvusLocation("/data/rag.db", "", "rag")),
        ("milvus:///data/rag.db?collection=news", MilvusLocation("/data/rag.db", "", "news")),
        ("milvus://milvus.internal:19530", MilvusLocation("http://milvus.internal:19530", "", "rag")),
        ("milvus://milvus.internal", MilvusLocation("http://milvus.internal:19530", "", "rag")),
        ("milvus://root:secret@10.0.0.5:19531", MilvusLocation("http://10.0.0.5:19531", "root:secret", "rag")),
    ],
)
def test_store_urls(url, location):
    assert parse_store_url(url) == location


@pytest.mark.parametrize(
    "url, message",
    [
        ("/data/rag.db", "not a Milvus URL"),
        ("faiss:///data", "not a Milvus URL"),
        ("milvus:///data/rag", "must end in .db"),
        ("milvus://host:99999", "invalid port"),
        ("milvus://host?collection=no-dashes", "collection name"),
    ],
)
def test_bad_store_urls_say_what_is_accepted(url, message):
    with pytest.raises(ConfigError, match=message):
        Settings(store=url)


def test_store_comes_from_the_environment_and_the_option_wins():
    assert Settings.load(environ={"RAG_STORE": "milvus:///a.db"}).store == "milvus:///a.db"
    assert Settings.load(environ={"RAG_STORE": "milvus:///a.db"}, store="milvus:///b.db").store == "milvus:///b.db"
    assert Settings.load(environ={}).store is None


def test_the_default_backend_is_the_faiss_folder(tmp_path):
    assert isinstance(open_backend(Settings(index=tmp_path)), FaissBackend)
    backend = open_backend(Settings(store="milvus://host?collection=news"))
    assert isinstance(backend, MilvusBackend) and backend.meta.name == "news_meta"


@pytest.mark.parametrize(
    "store, separate",
    [
        ("milvus:///data/rag.db", "milvus:///data/rag.db?collection=rag_beir"),
        ("milvus://u:p@host:19531?collection=news", "milvus://u:p@host:19531?collection=news_beir"),
    ],
)
def test_a_separate_index_shares_the_milvus_under_another_name(tmp_path, store, separate):
    settings = separate_index(Settings(store=store), "beir", tmp_path / "beir")
    assert (settings.store, settings.index) == (separate, tmp_path / "beir")
    assert separate_index(Settings(), "beir", tmp_path / "beir").index == tmp_path / "beir"


def test_identifiers_stay_whole_for_milvus_bm25():
    assert bm25_terms("Rust lands in 6.1; see CVE-2021-1234 and PPR-9087.") == (
        "rust land 6_1 6 1 see cve_2021_1234 cve 2021 1234 ppr_9087 ppr 9087"
    )


def test_a_bad_store_on_the_command_line_is_one_line():
    result = CliRunner().invoke(main, ["ask", "--store", "milvus://", "question"])
    assert result.exit_code == 1
    assert "milvus:///path/to/file.db" in result.output and "Traceback" not in result.output


def test_a_store_password_is_never_shown():
    settings = Settings.load(environ={"RAG_STORE": "milvus://reader:s3cret@host"})
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(settings.location)
    with pytest.raises(ConfigError) as error:
        Settings.load(environ={"RAG_STORE": "milvus://reader:s3cret@host:99999"})
    assert "s3cret" not in str(error.value) and "RAG_STORE" in str(error.value)
