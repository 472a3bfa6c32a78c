"""The upload form and the column mapping form (one select of the file's columns per field)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from serasi_web.forms import BaseForm, select_choices

from .columns import EXTERNAL_ID, HEADERS, REQUIRED, TARGETS, field_label


class UploadForm(BaseForm):
    file = FileField(_l("Spreadsheet file"), validators=[FileRequired(_l("Choose a CSV or Excel (.xlsx) file."))])

    def __init__(self, *args, max_mb: int = 20, **kwargs):
        super().__init__(*args, **kwargs)
        self.file.description = _l("CSV (comma or semicolon separated) or Excel .xlsx, at most %(mb)d MB. The first row holds the column names; only the first sheet of a workbook is read.", mb=max_mb)


class MappingFormBase(BaseForm):
    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for target in REQUIRED:
            field = getattr(self, target)
            if not field.data:
                field.errors = list(field.errors) + [str(missing_column_message(target))]
                valid = False
        if not self.stay_permit.data and not self.visa_index.data:
            self.stay_permit.errors = list(self.stay_permit.errors) + [
                str(_l("Choose the column with the stay permit, or the one with the visa index (the permit follows from it)."))]
            valid = False
        return valid

    def mapping(self) -> dict[str, str]:
        return {target: getattr(self, target).data for target in TARGETS if getattr(self, target).data}


def missing_column_message(target: str):
    return _l("The file has no column for this. Add a column \"%(english)s\" (or \"%(indonesian)s\"), or choose the column that holds it.",
              english=HEADERS["en"][target], indonesian=HEADERS["id"][target])


def mapping_form(headers: list[str], mapping: dict[str, str]):
    """A form with one select per report field (and the external id), listing the file's columns."""
    choices = select_choices([("", _l("(not in the file)"))] + [(header, header) for header in headers if header])
    attributes = {}
    for target in TARGETS:
        description = None
        if target == EXTERNAL_ID:
            description = _l("The booking or reservation number in your system. Importing the file again then updates the same stays; without it, the document number and check-in identify a stay.")
        elif target == "document_type":
            description = _l("Without this column every document is a passport.")
        elif target == "visa_index":
            description = _l("The stay permit follows from it when there is no stay permit column.")
        attributes[target] = SelectField(field_label(target), choices=choices, description=description)
    form_class = type("MappingForm", (MappingFormBase,), attributes)
    form = form_class(data={target: mapping.get(target, "") for target in TARGETS})
    for target in REQUIRED:
        getattr(form, target).flags.required = True
    return form
