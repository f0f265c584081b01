"""Pull a district's changes from its Ed-Fi ODS/API (7.x) into the gateway.

    hep edfi pull --base-url https://api.district.example/api --key K --secret S --lea 1964733

One pull:
1. OAuth 2.0 client credentials: `POST {base}/oauth/token` with HTTP Basic key:secret and
   `grant_type=client_credentials`; the bearer token is refreshed before it expires and again
   whenever the API answers 401.
2. `GET {base}/changeQueries/v1/availableChangeVersions` -> newest change version N. The window is
   `minChangeVersion = last + 1` (0 on the first pull) .. `maxChangeVersion = N`; nothing to do
   when N <= last. If the district purged change history past `last` (oldestChangeVersion > last+1)
   the whole collection is read again (no change filter).
3. Each resource, in dependency order, page by page (`offset`/`limit` 500, `totalCount=true` ->
   `Total-Count`), with the change window. Pages are spooled to a temporary file, so no database
   transaction stays open while the network is slow.
4. The spooled bodies are converted with the same validation as `hep ingest edfi-json`
   (adapters.edfi_extra) and ingested with `ingest_items` as ONE atomic batch: identity linking
   keeps only youth in care; everyone else is counted as out of scope and not kept.
5. The district's newest change version is stored in `edfi_pull_state` after the batch commits, so
   the next run continues from there. A failed pull stores the error and keeps the old version
   (the same window is read again next time; record content hashes make that harmless).

5xx answers, 429, timeouts and connection errors are retried with exponential backoff and jitter
(`sleep` is injectable); anything else is an error that fails the pull.

Not pulled: `/deletes` and `/keyChanges` (a deleted enrollment stays until the district re-sends
or an operator removes it) - see docs/edfi-pull.md.
"""
from __future__ import annotations

import hashlib
import logging
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
import requests
from sqlalchemy import and_, select, update

from adapters.base import Problem, truncate
from adapters.edfi_extra import edfi_record, student_subject, validate_and_prune

from ..clock import utcnow
from ..ingest.pipeline import ingest_items
from ..store import schema as s
from ..store.engine import write_tx

log = logging.getLogger("hep.edfi_pull")

# dependency order (ODS "Resource Dependency Order"): the people first, then what is about them
RESOURCES = (
    "schools",
    "students",
    "studentSchoolAssociations",
    "studentEducationOrganizationAssociations",
    "studentSchoolAttendanceEvents",
    "studentSpecialEducationProgramAssociations",
    "studentAcademicRecords",
    "courseTranscripts",
    "grades",
    "studentDisciplineIncidentBehaviorAssociations",
)
META = ("id", "_etag", "_lastModifiedDate", "changeVersion", "link")
PAGE_SIZE = 500
FORMAT = "edfi-pull"


class PullError(RuntimeError):
    pass


@dataclass
class PullResult:
    lea: str
    status: str                          # committed | up-to-date | duplicate | failed | refused
    min_change_version: int | None = None
    max_change_version: int | None = None
    records: int = 0
    pages: int = 0
    batch: dict = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class EdFiClient:
    """A small ODS/API client: token, retries, paging. `session`, `sleep` and `clock` are injectable."""

    def __init__(self, base_url: str, key: str, secret: str, *, data_path: str = "data/v3", session=None,
                 timeout=(5.0, 60.0), max_retries: int = 5, sleep=time.sleep, clock=utcnow, rng=None):
        self.base = base_url.rstrip("/")
        self.data = f"{self.base}/{data_path.strip('/')}"
        self.key, self.secret = key, secret
        self.session = session or requests.Session()
        self.timeout, self.max_retries, self.sleep, self.clock = timeout, max_retries, sleep, clock
        self.rng = rng or random.Random()
        self.token: str | None = None
        self.expires: datetime | None = None
        self.tokens_fetched = 0

    # -- transport -------------------------------------------------------------------------
    def _send(self, method: str, url: str, **kw) -> requests.Response:
        """One request with retries on 5xx, 429, timeouts and connection errors."""
        for attempt in range(self.max_retries + 1):
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kw)
            except (requests.ConnectionError, requests.Timeout) as e:
                if attempt == self.max_retries:
                    raise PullError(f"{url}: {type(e).__name__} after {attempt + 1} attempts: {e}") from None
                self._pause(attempt, None)
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                if attempt == self.max_retries:
                    raise PullError(f"{url}: HTTP {resp.status_code} after {attempt + 1} attempts")
                self._pause(attempt, resp.headers.get("Retry-After"))
                continue
            return resp
        raise PullError(f"{url}: no answer")  # pragma: no cover

    def _pause(self, attempt: int, retry_after) -> None:
        delay = min(60.0, 1.0 * 2 ** attempt)
        delay = delay / 2 + self.rng.uniform(0, delay / 2)
        try:
            delay = max(delay, min(300.0, float(retry_after))) if retry_after else delay
        except ValueError:
            pass
        self.sleep(delay)

    def authenticate(self) -> str:
        resp = self._send("POST", f"{self.base}/oauth/token", auth=(self.key, self.secret),
                          data={"grant_type": "client_credentials"}, headers={"Accept": "application/json"})
        if resp.status_code != 200:
            raise PullError(f"token request refused: HTTP {resp.status_code} {resp.text[:200]}")
        body = resp.json()
        if not body.get("access_token"):
            raise PullError("token response has no access_token")
        self.token = body["access_token"]
        self.expires = self.clock() + timedelta(seconds=max(0, int(body.get("expires_in") or 1800) - 60))
        self.tokens_fetched += 1
        return self.token

    def get(self, url: str, params: dict | None = None) -> requests.Response:
        if self.token is None or (self.expires and self.clock() >= self.expires):
            self.authenticate()
        for refreshed in (False, True):
            resp = self._send("GET", url, params=params,
                              headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
            if resp.status_code == 401 and not refreshed:
                self.authenticate()            # expired or revoked early: one new token, one more try
                continue
            if resp.status_code != 200:
                raise PullError(f"GET {url}: HTTP {resp.status_code} {resp.text[:300]}")
            return resp
        raise PullError(f"GET {url}: still 401 with a new token (check the key's claim set)")

    # -- API -------------------------------------------------------------------------------
    def available_change_versions(self) -> tuple[int, int]:
        body = self.get(f"{self.base}/changeQueries/v1/availableChangeVersions").json()
        oldest = body.get("oldestChangeVersion", body.get("OldestChangeVersion"))
        newest = body.get("newestChangeVersion", body.get("NewestChangeVersion"))
        if newest is None:
            raise PullError("availableChangeVersions has no newestChangeVersion")
        return int(oldest or 0), int(newest)

    def pages(self, resource: str, min_cv: int | None, max_cv: int | None, page_size: int = PAGE_SIZE,
              namespace: str = "ed-fi"):
        """Yield (offset, list of bodies) for every page of a collection in the change window."""
        url = f"{self.data}/{namespace}/{resource}"
        offset, total = 0, None
        while True:
            params = {"offset": offset, "limit": page_size}
            if min_cv is not None:
                params["minChangeVersion"] = min_cv
            if max_cv is not None:
                params["maxChangeVersion"] = max_cv
            if total is None:
                params["totalCount"] = "true"
            resp = self.get(url, params)
            if total is None and resp.headers.get("Total-Count") is not None:
                total = int(resp.headers["Total-Count"])
            page = resp.json()
            if not isinstance(page, list):
                raise PullError(f"GET {url}: expected a JSON array")
            if page:
                yield offset, page
            offset += len(page)
            if not page or len(page) < page_size or (total is not None and offset >= total):
                return


def clean(node):
    """Drop ODS metadata (`id`, `_etag`, `_lastModifiedDate`, `changeVersion`, reference `link`s),
    nulls and empty collections, which the ODS emits but a body need not carry."""
    if isinstance(node, dict):
        return {k: clean(v) for k, v in node.items()
                if k not in META and v is not None and v != [] and v != {}}
    if isinstance(node, list):
        return [clean(v) for v in node]
    return node


def convert(resource: str, raw: dict, where: dict, source: str):
    body = clean(raw)
    errors, dropped = validate_and_prune(resource, body)
    if errors:
        fld, msg = errors[0]
        yield Problem(file=where["file"], line=None, field=fld, message=f"{resource}: {fld}: {msg}",
                      raw=truncate(orjson.dumps(raw).decode(), 500))
        return
    if dropped:
        yield Problem(file=where["file"], line=None, field=",".join(dropped)[:200], severity="warning",
                      message=f"{resource}: properties not kept by the gateway's Ed-Fi profile: {', '.join(dropped)}")
    yield edfi_record(resource, body, where, student_subject(resource, body, source=source))


# --- state ----------------------------------------------------------------------------------------

def load_state(engine, tenant: str, lea: str):
    c = s.edfi_pull_state.c
    with engine.connect() as conn:
        return conn.execute(select(s.edfi_pull_state).where(and_(c.tenant_id == tenant, c.lea_id == lea))).first()


def save_state(engine, tenant: str, lea: str, base_url: str, now, **values) -> None:
    c = s.edfi_pull_state.c
    with write_tx(engine) as conn:
        exists = conn.execute(select(c.lea_id).where(and_(c.tenant_id == tenant, c.lea_id == lea))).first()
        if exists:
            conn.execute(update(s.edfi_pull_state).where(and_(c.tenant_id == tenant, c.lea_id == lea)).values(
                base_url=base_url, updated_at=now, **values))
        else:
            values.setdefault("records", 0)
            conn.execute(s.edfi_pull_state.insert().values(tenant_id=tenant, lea_id=lea, base_url=base_url,
                                                           updated_at=now, **values))


# --- the pull -------------------------------------------------------------------------------------

def pull(engine, *, base_url: str, key: str, secret: str, lea: str, tenant: str = "la", resources=RESOURCES,
         page_size: int = PAGE_SIZE, data_path: str = "data/v3", session=None, sleep=time.sleep, clock=utcnow,
         rng=None) -> PullResult:
    lea = str(lea).strip()
    if not (lea.isdigit() and len(lea) == 7):
        raise PullError(f"--lea must be the district's 7-digit CDS code, not {lea!r}")
    source = f"edfi-pull:{lea}"
    client = EdFiClient(base_url, key, secret, data_path=data_path, session=session, sleep=sleep, clock=clock, rng=rng)
    state = load_state(engine, tenant, lea)
    last = state.last_change_version if state else None
    result = PullResult(lea, "failed")
    try:
        oldest, newest = client.available_change_versions()
        result.max_change_version = newest
        if last is not None and newest <= last:
            result.status, result.min_change_version = "up-to-date", last + 1
            save_state(engine, tenant, lea, base_url, clock(), status="ok", last_error=None)
            return result
        min_cv = 0 if last is None else last + 1
        if last is not None and oldest > min_cv:
            log.warning("change history purged past the stored version: reading everything again",
                        extra={"batch_id": source})
            min_cv = None
        result.min_change_version = min_cv
        with tempfile.TemporaryFile() as spool:
            for resource in resources:
                for offset, page in client.pages(resource, min_cv, newest, page_size):
                    result.pages += 1
                    for i, body in enumerate(page):
                        spool.write(orjson.dumps({"r": resource, "o": offset + i, "b": body}) + b"\n")
                        result.records += 1
            spool.seek(0)

            def items():
                for line in spool:
                    item = orjson.loads(line)
                    where = {"file": f"{item['r']}", "path": f"{client.data}/ed-fi/{item['r']}#{item['o']}"}
                    yield from convert(item["r"], item["b"], where, source)

            digest = hashlib.sha256(f"{base_url}\x1f{lea}\x1f{min_cv}\x1f{newest}".encode()).hexdigest()
            batch = ingest_items(engine, FORMAT, items(), source_name=f"{base_url} change versions {min_cv}..{newest}"[:500],
                                 digest=digest, tenant=tenant, submitted_by=f"edfi-pull:{lea}", source_system=source)
        result.batch = batch.to_dict()
        if batch.status not in ("committed", "duplicate"):
            raise PullError(f"the batch was {batch.status}: {batch.error}")
        result.status = batch.status
        save_state(engine, tenant, lea, base_url, clock(), last_change_version=newest, status="ok",
                   last_batch_id=batch.batch_id, records=result.records, last_error=None)
        return result
    except PullError as e:
        result.status, result.error = "failed", str(e)
        save_state(engine, tenant, lea, base_url, clock(), status="failed", last_error=str(e)[:4000])
        return result
