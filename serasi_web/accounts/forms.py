from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..forms import TOO_LONG, BaseForm, select_choices, strip
from ..passwords import is_common_password, is_personal_password
from .models import AccountKind

ACCOUNT_KIND_CHOICES = select_choices([
    (AccountKind.LODGING_BUSINESS.value, _l("Lodging business (hotel, villa, kos, guest house ...)")),
    (AccountKind.COMPANY.value, _l("Company (mess hall, housing for employees)")),
    (AccountKind.INDIVIDUAL.value, _l("Individual host (private residence)")),
])


def strong_password(form, field):
    password = field.data or ""
    minimum, maximum = current_app.config["PASSWORD_MIN_LENGTH"], current_app.config["PASSWORD_MAX_LENGTH"]
    if len(password) < minimum:
        raise ValidationError(_l("Use at least %(n)d characters.", n=minimum))
    if len(password) > maximum:
        raise ValidationError(_l("Use at most %(n)d characters.", n=maximum))
    if is_common_password(password):
        raise ValidationError(_l("This password is among the most common ones; choose another."))
    # The account's own e-mail and name: from the form's fields, or the account it is for.
    account = getattr(form, "account", None)
    email = form.email.data if hasattr(form, "email") else getattr(account, "email", "")
    name = form.full_name.data if hasattr(form, "full_name") else getattr(account, "full_name", "")
    if is_personal_password(password, email or "", name or ""):
        raise ValidationError(_l("The password must not contain your e-mail address or your name."))


class SignUpForm(BaseForm):
    account_kind = RadioField(_l("Account kind"), choices=ACCOUNT_KIND_CHOICES, validators=[DataRequired(_l("Choose the kind of account."))])
    full_name = StringField(_l("Full name"), filters=[strip], validators=[DataRequired(_l("Enter your name.")), Length(max=120, message=TOO_LONG)])
    email = EmailField(_l("E-mail"), filters=[strip], validators=[DataRequired(_l("Enter your e-mail address.")), Email(_l("Enter a valid e-mail address.")), Length(max=254, message=TOO_LONG)])
    password = PasswordField(_l("Password"), description=_l("At least 8 characters; a long phrase is best."), validators=[DataRequired(_l("Choose a password.")), strong_password])
    password_again = PasswordField(_l("Password again"), validators=[DataRequired(_l("Type the password again.")), EqualTo("password", _l("The two passwords differ."))])


class LoginForm(BaseForm):
    email = EmailField(_l("E-mail"), filters=[strip], validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254, message=TOO_LONG)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=1024, message=TOO_LONG)])


class ForgotPasswordForm(BaseForm):
    email = EmailField(_l("E-mail"), filters=[strip], validators=[DataRequired(_l("Enter your e-mail address.")), Email(_l("Enter a valid e-mail address.")), Length(max=254, message=TOO_LONG)])


class ResetPasswordForm(BaseForm):
    password = PasswordField(_l("New password"), description=_l("At least 8 characters; a long phrase is best."), validators=[DataRequired(_l("Choose a password.")), strong_password])
    password_again = PasswordField(_l("New password again"), validators=[DataRequired(_l("Type the password again.")), EqualTo("password", _l("The two passwords differ."))])


class ChangePasswordForm(ResetPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your password.")), Length(max=1024, message=TOO_LONG)])


class MfaCodeForm(BaseForm):
    code = StringField(_l("Code"), filters=[strip], description=_l("The 6 digits your authenticator app shows, or one of your recovery codes."),
                       validators=[DataRequired(_l("Enter the code.")), Length(max=20, message=TOO_LONG)])


class MfaEnrolForm(BaseForm):
    code = StringField(_l("Code from the app"), filters=[strip], description=_l("The 6 digits the app shows after adding the account."),
                       validators=[DataRequired(_l("Enter the code.")), Length(max=20, message=TOO_LONG)])


class MfaManageForm(BaseForm):
    action = RadioField(_l("What to do"), validators=[DataRequired(_l("Choose what to do."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=1024, message=TOO_LONG)])


class OfficerForm(BaseForm):
    role = SelectField(_l("Role"), choices=select_choices([("officer", _l("Officer")), ("dpo", _l("Data-protection officer"))]), default="officer",
                       description=_l("A data-protection officer reads the office's access log and answers data access requests, without the console."),
                       invalid_choice_message=_l("Choose the role."))
    full_name = StringField(_l("Full name"), filters=[strip], validators=[DataRequired(_l("Enter the officer's name.")), Length(max=120, message=TOO_LONG)])
    email = EmailField(_l("E-mail"), filters=[strip], validators=[DataRequired(_l("Enter an e-mail address.")), Email(_l("Enter a valid e-mail address.")), Length(max=254, message=TOO_LONG)])
    office_id = SelectField(_l("Immigration office"), coerce=int, invalid_choice_message=_l("Choose the office."),
                            validators=[DataRequired(_l("Choose the office."))])
    password = PasswordField(_l("Initial password"), description=_l("Give it to the officer in person; at least 8 characters."), validators=[DataRequired(_l("Choose a password.")), strong_password])


class OfficeRoleForm(BaseForm):
    """Gives an administrator an office (and so that office's console), or takes it away."""

    office_id = SelectField(_l("Office role"), coerce=int, invalid_choice_message=_l("Choose the office."))
