"""The words for a record's values and fields, in English, marked for translation (N_).

One list for every place that shows them: the pages (passport.web.common wraps each in
lazy_gettext) and the MDT summary's print view and PDF (passport.mdt.printing translates them
when the document is made). A label changed here changes on screen, in print and in the PDF
together, so they cannot drift apart."""

from __future__ import annotations

from ..languages import N_

STAFF_SECTION_TITLES = {
    "profile": N_("Name and details"),
    "story": N_("Their story"),
    "risk": N_("Risks"),
    "medication": N_("Medication"),
    "workers": N_("Workers"),
    "preferences": N_("What works for them"),
}
RISK_KINDS = {
    "risk_to_others": N_("Risk to others"),
    "risk_from_others": N_("Risk from others"),
    "self_harm": N_("Self-harm"),
    "suicide": N_("Suicide"),
    "overdose": N_("Overdose"),
    "lone_working": N_("Do not visit alone"),
    "fire_setting": N_("Fire setting"),
    "exploitation": N_("Exploitation"),
    "other": N_("Other"),
}
RISK_LEVELS = {"high": N_("High"), "medium": N_("Medium"), "low": N_("Low")}
CONTACT_METHODS = {
    "phone": N_("Phone call"),
    "text": N_("Text message"),
    "email": N_("Email"),
    "letter": N_("Letter"),
    "in_person": N_("In person"),
    "via_worker": N_("Through my worker"),
}
# In the order they are shown.
PREFERENCE_FIELDS = {
    "appointment_times": N_("Best times for appointments"),
    "triggers": N_("Things that upset me"),
    "what_helps": N_("What helps me"),
    "what_has_not_helped": N_("What has not helped"),
    "communication_needs": N_("How to talk with me"),
    "interpreter": N_("Interpreter"),
    "goals": N_("What I want"),
}
MEDICATION_FIELDS = {
    "dose": N_("Dose"),
    "frequency": N_("How often"),
    "route": N_("How it is taken"),
    "prescriber": N_("Prescribed by"),
    "reason": N_("Why"),
    "started_on": N_("Started"),
    "stopped_on": N_("Stopped"),
    "notes": N_("Notes"),
}
