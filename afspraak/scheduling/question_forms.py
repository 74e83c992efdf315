"""The question builder of the meeting-type form: one small form per question, in order.

It works without JavaScript: "Add a question", "Move up", "Move down" and "Remove" are
submit buttons named ``question_action`` that rearrange what was typed and show the
form again without saving (``rearranged_questions``). Each question keeps its stored
key, so answers given to it before still carry its label; a new question gets a key
made from its label.
"""

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.text import slugify

from afspraak.inputs.errors import InputRefusedError
from afspraak.inputs.names import validate_name_text
from afspraak.inputs.numbers import parse_whole_number
from afspraak.scheduling.models import CHOICE_KINDS, MAX_CHOICES, MAX_QUESTIONS, QuestionKind

PREFIX = "question"
ACTION = "question_action"
_FIELDS = ("key", "label", "kind", "required", "choices")
_ACTION_PATTERN = re.compile(r"^(up|down|remove)-(\d{1,2})$")
MAX_CHOICE_LENGTH = 100


class QuestionForm(forms.Form):
    key = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    label = forms.CharField(
        label="Question", max_length=200, validators=[validate_name_text], required=False
    )
    kind = forms.ChoiceField(label="Answer", choices=QuestionKind.choices, initial="short_text")
    required = forms.BooleanField(label="Required", required=False)
    choices = forms.CharField(
        label="Options",
        required=False,
        max_length=MAX_CHOICES * (MAX_CHOICE_LENGTH + 2),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One option per line.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not (cleaned.get("label") or "").strip():
            self.add_error("label", "Write the question.")
        options = [line.strip() for line in cleaned.get("choices", "").splitlines()]
        options = [option for option in options if option]
        if cleaned.get("kind") not in CHOICE_KINDS:
            # The options box is hidden for these kinds: what it still holds is dropped.
            cleaned["choice_list"] = []
            return cleaned
        if not options:
            self.add_error("choices", "Give the options to choose from, one per line.")
        elif len(options) > MAX_CHOICES:
            self.add_error("choices", f"Give at most {MAX_CHOICES} options.")
        elif len(set(options)) != len(options):
            self.add_error("choices", "Give each option once.")
        for option in options:
            if len(option) > MAX_CHOICE_LENGTH:
                self.add_error(
                    "choices", f"“{option[:20]}…” is longer than {MAX_CHOICE_LENGTH} characters."
                )
                break
            try:
                validate_name_text(option)
            except ValidationError as error:
                self.add_error("choices", f"“{option[:20]}”: {error.messages[0]}")
                break
        cleaned["choice_list"] = options
        return cleaned


class BaseQuestionFormSet(forms.BaseFormSet):
    def initial_form_count(self) -> int:
        # Posted questions are all judged as typed; a blank one left at its defaults is
        # skipped rather than refused (the empty one "Add a question" leaves).
        return 0 if self.is_bound else super().initial_form_count()

    def clean(self) -> None:
        if any(self.errors):
            return
        keys: set[str] = set()
        for form in self.forms:
            key = form.cleaned_data.get("key")
            if key:
                if key in keys:
                    raise ValidationError("Two questions have the same key; reload the page.")
                keys.add(key)

    def questions(self) -> list[dict[str, Any]]:
        """Return the questions as the meeting type stores them, in order (after is_valid)."""
        taken = {form.cleaned_data.get("key") for form in self.forms if form.cleaned_data}
        questions = []
        for form in self.forms:
            if not form.cleaned_data or not form.has_changed():
                continue
            data = form.cleaned_data
            key = data["key"] or _new_key(data["label"], taken)
            taken.add(key)
            question: dict[str, Any] = {
                "key": key,
                "label": data["label"].strip(),
                "kind": data["kind"],
                "required": data["required"],
            }
            if data["kind"] in CHOICE_KINDS:
                question["choices"] = data["choice_list"]
            questions.append(question)
        return questions

    def hide_errors(self) -> None:
        """Show what was typed without judging it: a question action is not a save."""
        self._errors = [forms.utils.ErrorDict() for _form in self.forms]
        self._non_form_errors = self.error_class()
        for form in self.forms:
            form._errors = forms.utils.ErrorDict()
            form.cleaned_data = {}


QuestionFormSet = forms.formset_factory(
    QuestionForm,
    formset=BaseQuestionFormSet,
    extra=0,
    max_num=MAX_QUESTIONS,
    validate_max=True,
    absolute_max=MAX_QUESTIONS + 1,
)


def _new_key(label: str, taken: set[str | None]) -> str:
    """Return an identifier made from ``label`` that no other question of the type uses."""
    stem = slugify(label).replace("-", "_")[:30].strip("_")
    if not stem or not stem[0].isalpha():
        stem = f"question_{stem}".strip("_")
    key, number = stem, 2
    while key in taken:
        key, number = f"{stem}_{number}", number + 1
    return key


def question_initial(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return stored questions as the builder's initial values."""
    return [
        {
            "key": question.get("key", ""),
            "label": question.get("label", ""),
            "kind": question.get("kind", "short_text"),
            "required": bool(question.get("required", False)),
            "choices": "\n".join(question.get("choices", [])),
        }
        for question in questions
    ]


def rearranged_questions(data: QueryDict) -> QueryDict:
    """Return ``data`` with its questions added to, moved or removed as ``question_action`` says.

    An unknown action or position is refused with ValidationError (a tampered request).
    """
    try:
        count = parse_whole_number(data.get(f"{PREFIX}-TOTAL_FORMS", "0"), maximum=MAX_QUESTIONS)
    except InputRefusedError:
        raise ValidationError(f"A meeting type asks at most {MAX_QUESTIONS} questions.") from None
    rows = [{name: data.get(f"{PREFIX}-{i}-{name}") for name in _FIELDS} for i in range(count)]
    action = data.get(ACTION, "")
    match = _ACTION_PATTERN.match(action)
    if action == "add":
        if count >= MAX_QUESTIONS:
            raise ValidationError(f"A meeting type asks at most {MAX_QUESTIONS} questions.")
        rows.append(dict.fromkeys(_FIELDS))
    elif match is None or int(match[2]) >= count:
        raise ValidationError("That question action is unknown; reload the page.")
    else:
        verb, position = match[1], int(match[2])
        if verb == "remove":
            rows.pop(position)
        else:
            other = position - 1 if verb == "up" else position + 1
            if 0 <= other < count:
                rows[position], rows[other] = rows[other], rows[position]
    rearranged = data.copy()
    for name in list(rearranged):
        if name.startswith(f"{PREFIX}-") or name == ACTION:
            del rearranged[name]
    rearranged[f"{PREFIX}-TOTAL_FORMS"] = str(len(rows))
    rearranged[f"{PREFIX}-INITIAL_FORMS"] = "0"
    for i, row in enumerate(rows):
        for name, value in row.items():
            if value is not None:
                rearranged[f"{PREFIX}-{i}-{name}"] = value
    return rearranged
