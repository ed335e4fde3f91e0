"""The World Bank's regions and income groups as readers see them, in their language.

Lazy: each label is translated when it is shown, so pages and reports share one table.
"""

from __future__ import annotations

from app.core.i18n import lazy_gettext as _

REGION_LABELS = {
    "East Asia and Pacific": _("East Asia and Pacific"),
    "Europe and Central Asia": _("Europe and Central Asia"),
    "Latin America and the Caribbean": _("Latin America and the Caribbean"),
    "Middle East and North Africa": _("Middle East and North Africa"),
    "North America": _("North America"),
    "South Asia": _("South Asia"),
    "Sub-Saharan Africa": _("Sub-Saharan Africa"),
}
INCOME_LABELS = {
    "Low income": _("Low income"),
    "Lower-middle income": _("Lower-middle income"),
    "Upper-middle income": _("Upper-middle income"),
    "High income": _("High income"),
    "Not classified": _("Not classified"),
}
