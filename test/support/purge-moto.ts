/**
 * A moto_server for the purge scale test (100,000 object versions), with two test-only changes, both
 * outside the requests the purge job sends:
 *
 * - Seeding: `POST /_trackstack/seed` puts objects straight into moto's S3 backend. Through the API,
 *   moto stores about 170 objects per second on two cores (some 10 minutes for 100,000).
 * - Listing speed: moto's ListObjectVersions deep-copies every version of the whole bucket on every call
 *   (about 200 µs per version, bodies included) only to set `is_latest` on the copies, so the 100 or so
 *   pages of a 100,000-version purge would take well over ten minutes. Here each copy is a thin view of
 *   the stored version that keeps its own `is_latest`: moto's own listing code runs unchanged over it and
 *   renders the same XML, at about 7 µs per version.
 *
 * Every ListObjectVersions and DeleteObjects call of the purge still goes over HTTP through moto's own
 * request parsing, S3 semantics (versions, delete markers, per-key results) and responses.
 */
import { assertMotoInstalled, freePort, spawnMoto } from '../../tooling/moto';

const SERVER = String.raw`
import copy as _copy, json, os, sys, types
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
import moto.s3.models as s3_models
from moto.s3.models import FakeDeleteMarker, FakeKey, s3_backends

class _View:
    """Stands in for one stored version inside a listing: reads go to the version, writes stay here."""
    __slots__ = ("_target", "is_latest")
    def __init__(self, target):
        object.__setattr__(self, "_target", target)
    def __getattr__(self, name):
        return getattr(object.__getattribute__(self, "_target"), name)
    @property
    def __class__(self):
        return type(object.__getattribute__(self, "_target"))

def _deepcopy(value, memo=None):
    # The listing deep-copies each key's version list only to set is_latest on the copies.
    if isinstance(value, list) and all(isinstance(v, (FakeKey, FakeDeleteMarker)) for v in value):
        return [_View(v) for v in value]
    return _copy.deepcopy(value, memo)

s3_models.copy = types.SimpleNamespace(**{k: getattr(_copy, k) for k in dir(_copy) if not k.startswith("__")})
s3_models.copy.deepcopy = _deepcopy

ACCOUNT = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")
app = DomainDispatcherApplication(create_backend_app)

def seed(environ, start_response):
    spec = json.loads(Request(environ).get_data())
    backend = s3_backends[ACCOUNT]["aws"]
    body = spec.get("body", "x").encode()
    extra = spec.get("extraVersions", 0)
    markers = spec.get("deleteMarkers", 0)
    for i in range(spec["count"]):
        key = "%s%06d.ndjson" % (spec["prefix"], i)
        backend.put_object(spec["bucket"], key, body)
        if i < extra:
            backend.put_object(spec["bucket"], key, body)
        if i < markers:
            backend.delete_object(spec["bucket"], key)
    return Response(json.dumps({"ok": True}), mimetype="application/json")(environ, start_response)

def dispatch(environ, start_response):
    if environ.get("PATH_INFO") == "/_trackstack/seed" and environ.get("REQUEST_METHOD") == "POST":
        return seed(environ, start_response)
    return app(environ, start_response)

run_simple("127.0.0.1", int(sys.argv[1]), dispatch, threaded=True, use_reloader=False)
`;

/** What to seed under one prefix: keys `<prefix><000000…>.ndjson`. */
export interface SeedSpec {
  readonly bucket: string;
  readonly prefix: string;
  /** Keys, each with one version. */
  readonly count: number;
  /** The first `extraVersions` keys get a second version. */
  readonly extraVersions?: number;
  /** The first `deleteMarkers` keys get a delete marker on top (the bucket must be versioned). */
  readonly deleteMarkers?: number;
  readonly body?: string;
}

/** A running scale-test moto. */
export interface FastMoto {
  readonly endpoint: string;
  seed(spec: SeedSpec): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the scale-test moto on a free port and resolves once it answers. */
export async function startFastMoto(accountId = '123456789012'): Promise<FastMoto> {
  assertMotoInstalled();
  const port = await freePort();
  const moto = await spawnMoto('python3', ['-c', SERVER, String(port)], port, accountId, 'scale-test moto');
  const { endpoint } = moto;
  return {
    endpoint,
    seed: async (spec) => {
      const res = await fetch(`${endpoint}/_trackstack/seed`, { method: 'POST', body: JSON.stringify(spec) });
      if (!res.ok) throw new Error(`seeding failed: ${res.status} ${await res.text()} ${moto.stderr()}`);
    },
    stop: moto.stop,
  };
}
