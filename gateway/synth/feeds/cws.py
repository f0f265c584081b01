"""Writes the child-welfare case extract (docs/formats/cws-extract.md) for the synthetic county."""
from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

from adapters.cws_layout import TABLES, JURISDICTION_CODES, ROLE_CODES

FORMATS = ("cws",)
_JUR = {v: k for k, v in JURISDICTION_CODES.items()}
_ROLE = {v: k for k, v in ROLE_CODES.items()}


def _d(x) -> str:
    return x.isoformat() if x else ""


def _yn(x) -> str:
    return "" if x is None else ("Y" if x else "N")


class Writer:
    def __init__(self, county, out_dir: Path):
        self.county = county
        self.dir = Path(out_dir) / "cws"
        self.tmp = self.dir / "extract"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._fhs = {}
        self.w = {}
        for table, cols in TABLES.items():
            fh = open(self.tmp / f"{table}.csv", "w", newline="")
            self._fhs[table] = fh
            self.w[table] = csv.writer(fh)
            self.w[table].writerow(cols)
        self.w["manifest"].writerow([f"LA-{county.as_of:%Y%m%d}", "19", county.as_of.isoformat(), "1.0", "CWS/CMS"])

    def add(self, y) -> None:
        if not y.in_care:
            return
        w = self.w
        removal = y.placements[0].start if y.placements else None
        w["clients"].writerow([
            y.client_id, y.case_id, y.given, y.middle, y.family, "", _d(y.birth_date), y.sex,
            y.ssid if y.ssid_known_to_cws else "", y.language, y.race, _yn(y.hispanic),
            _JUR[y.jurisdiction], y.office, _d(removal), "open"])
        for k, (g, f) in enumerate(y.aliases):
            w["aliases"].writerow([y.client_id, g, "", f, "AKA"])
        for p in y.placements:
            w["placements"].writerow([p.placement_id, y.client_id, _d(p.start), _d(p.end), p.placement_type,
                                      p.caregiver_id, p.caregiver_name, p.address, p.city, "CA", p.zip, p.phone])
        for k, a in enumerate(y.assignments):
            w["assignments"].writerow([f"{y.client_id}-A{k + 1}", y.client_id, _ROLE[a.role], a.person_id, a.name,
                                       a.organization, a.phone, a.email, _d(a.start), _d(a.end),
                                       _d(a.jv535_signed), a.relationship or ""])
        for o in y.court_orders:
            w["court_orders"].writerow([o.order_id, y.client_id, o.type, o.status, _d(o.issued), _d(o.expires),
                                        ";".join(o.scope), ";".join(o.recipients), _yn(o.limits_parent_ed_rights),
                                        "", "JV-535" if o.type.startswith("jv535") else ""])
        for c in y.consents:
            w["consents"].writerow([c.consent_id, y.client_id, c.grantor, ";".join(c.scope), ";".join(c.recipients),
                                    c.status, c.form, _d(c.signed), _d(c.expires), "", _d(c.revoked_on),
                                    _yn(c.part2_compliant), "N", c.purpose or ""])

    def close(self) -> list[Path]:
        for fh in self._fhs.values():
            fh.close()
        target = self.dir / f"cws-extract-{self.county.as_of:%Y%m%d}.zip"
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for table in TABLES:
                zf.write(self.tmp / f"{table}.csv", f"{table}.csv")
        shutil.rmtree(self.tmp)
        return [target]
