"""Build hook: the wheel carries each catalog compiled (``messages.mo``) beside its ``.po``.

Everything else about the build is in pyproject.toml. The ``.po`` files in
calc/translations/ are the source; ``build_py`` compiles them with Babel into the
build folder, so a wheel (and an install from it) has the ``.mo`` that
calc.core.i18n loads. An editable install reads the ``.po`` instead.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in Path("calc/translations").glob("*/LC_MESSAGES/*.po"):
            language = po.parts[-3]
            with po.open("rb") as f:
                catalog = read_po(f, locale=language)
            target = Path(self.build_lib) / po.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
