"""Build hook: compile the translation catalogues (.po -> .mo) into the built package.

The .mo files are build products (not in git); ``make`` compiles them for a checkout, and this
compiles them for a wheel, so an installed SERASI Web speaks Indonesian without a checkout.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogues(build_py):
    def run(self):
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        source = Path(__file__).resolve().parent / "serasi_web" / "translations"
        target = Path(self.build_lib) / "serasi_web" / "translations"
        for po_path in source.glob("*/LC_MESSAGES/messages.po"):
            mo_path = target / po_path.relative_to(source).with_suffix(".mo")
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogues})
