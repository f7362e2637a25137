"""The new/edit/delete console views of a simple object (a model and its form), written once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Model, ProtectedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from opsportal.access import console_view

View = Callable[..., HttpResponse]


def object_views(
    model: type[Model],
    form_class: type[forms.ModelForm],
    *,
    kind: str,
    template: str,
    saved: str | Callable[[Any], str],
    deleted: str,
    lookup: str = "slug",
    refuse: Callable[[Any], str | None] = lambda obj: None,
    in_use: str = "is still in use",
) -> tuple[View, View, View]:
    """The (new, edit, delete) console views of a simple object, each guarded by its model permission.

    ``kind`` names the object in titles and messages ("Source"); a save leads to ``saved`` (a URL
    name, or a function of the saved object giving a URL), a delete to ``deleted``. ``refuse`` says
    why an object may not be deleted (None: it may); one the database protects is refused with
    "<kind> <object> <in_use>." The form template gets ``form``, ``title``, ``kind`` and ``instance``.
    """
    opts = model._meta
    perm = f"{opts.app_label}.{{}}_{opts.model_name}"
    after = saved if callable(saved) else (lambda obj: saved)

    def edit(request: HttpRequest, instance: Model | None) -> HttpResponse:
        form = form_class(request.POST or None, instance=instance)
        if request.method == "POST" and form.is_valid():
            obj = form.save()
            messages.success(request, f"{kind} {obj} saved.")
            return redirect(after(obj))
        title = f"Edit {kind.lower()} {instance}" if instance is not None else f"New {kind.lower()}"
        return render(request, template, {"form": form, "title": title, "kind": kind, "instance": instance})

    @console_view(perm.format("add"), methods=("GET", "HEAD", "POST"))
    def new_view(request: HttpRequest) -> HttpResponse:
        return edit(request, None)

    @console_view(perm.format("change"), methods=("GET", "HEAD", "POST"))
    def edit_view(request: HttpRequest, **key: Any) -> HttpResponse:
        return edit(request, get_object_or_404(model, **{lookup: key[lookup]}))

    @console_view(perm.format("delete"), methods=("POST",))
    def delete_view(request: HttpRequest, **key: Any) -> HttpResponse:
        obj = get_object_or_404(model, **{lookup: key[lookup]})
        reason = refuse(obj)
        if reason is None:
            try:
                with transaction.atomic():
                    obj.delete()
            except ProtectedError:
                reason = f"{kind} {obj} {in_use}."
            else:
                messages.success(request, f"{kind} {obj} deleted.")
        if reason is not None:
            messages.error(request, reason)
        return redirect(deleted)

    for view, verb in ((new_view, "new"), (edit_view, "edit"), (delete_view, "delete")):
        view.__name__ = view.__qualname__ = f"{opts.model_name}_{verb}"
    return new_view, edit_view, delete_view
