"""Versioned prompt templates from `prompts/<version>/`.

A version is a folder: `system.md`, `user.md`, optional `lang/<code>.md` addenda and
`examples.json` (few-shot pairs, validated against the draft schema). The version label and a
digest of the folder's files are part of every cache key, so editing a template without
bumping the label still invalidates old responses instead of silently reusing them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from extractor.errors import ConfigError
from extractor.options import DEFAULT_PROMPT_VERSION
from extractor.records import ExtractionDraft

DEFAULT_VERSION = DEFAULT_PROMPT_VERSION

LANGUAGE_NAMES = {
    "de": "German",
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pl": "Polish",
    "uk": "Ukrainian",
    "ru": "Russian",
    "pt": "Portuguese",
}


def prompts_root() -> Path:
    """`prompts/` beside the package in a checkout; the packaged copy in a wheel install."""
    checkout = Path(__file__).resolve().parent.parent / "prompts"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("extractor.prompt_files")))


def available_versions() -> list[str]:
    return sorted(p.name for p in prompts_root().iterdir() if (p / "system.md").is_file())


@dataclass(frozen=True)
class Example:
    language: str
    article: str
    answer: ExtractionDraft


@dataclass(frozen=True)
class PromptTemplate:
    version: str
    digest: str
    system: str
    user: str
    addenda: dict[str, str] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()
    #: system messages made so far, by (language, output language name)
    _systems: dict[tuple[str | None, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def key(self) -> str:
        """Version label plus content digest: what cache keys and replay files carry."""
        return f"{self.version}@{self.digest[:12]}"

    def messages(
        self,
        text: str,
        *,
        language: str | None,
        output_language: str | None = None,
        title: str | None = None,
    ) -> list[dict[str, Any]]:
        lang = language or "und"
        out_lang = output_language or language
        out_name = LANGUAGE_NAMES.get(out_lang or "", out_lang or "the article's language")
        system = self._systems.get((language, out_name))
        if system is None:
            system = Template(self.system).safe_substitute(output_language=out_name)
            if language in self.addenda:
                system += "\n" + self.addenda[language]
            if len(self._systems) < 256:  # languages come from callers: keep it bounded
                self._systems[(language, out_name)] = system
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for shown, answer in self._shots:
            messages.append({"role": "user", "content": shown})
            messages.append({"role": "assistant", "content": answer})
        messages.append({"role": "user", "content": self._user(text, lang, title)})
        return messages

    @cached_property
    def _shots(self) -> list[tuple[str, str]]:
        """The few-shot turns as text, made once: they are the same for every article."""
        return [
            (self._user(ex.article, ex.language, None), ex.answer.model_dump_json())
            for ex in self.examples
        ]

    def _user(self, text: str, language: str, title: str | None) -> str:
        title_attr = f' title="{_attr(title)}"' if title else ""
        return Template(self.user).safe_substitute(
            text=text, language=language, title_attr=title_attr
        )


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def load_prompt(version: str = DEFAULT_VERSION) -> PromptTemplate:
    folder = prompts_root() / version
    if not (folder / "system.md").is_file():
        raise ConfigError(
            f"unknown prompt version {version!r}; available: {', '.join(available_versions())}"
        )
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for p in files:
        digest.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes())
    examples: tuple[Example, ...] = ()
    if (folder / "examples.json").is_file():
        raw = json.loads((folder / "examples.json").read_text(encoding="utf-8"))
        examples = tuple(
            Example(e["language"], e["article"], ExtractionDraft.model_validate(e["answer"]))
            for e in raw
        )
    addenda = {
        p.stem: p.read_text(encoding="utf-8") for p in sorted((folder / "lang").glob("*.md"))
    }
    return PromptTemplate(
        version=version,
        digest=digest.hexdigest(),
        system=(folder / "system.md").read_text(encoding="utf-8"),
        user=(folder / "user.md").read_text(encoding="utf-8"),
        addenda=addenda,
        examples=examples,
    )
