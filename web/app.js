// Intake's upload page: Cognito sign-in, presigned POST uploads with progress, large files in parallel
// multipart parts (resumed after a reload or a dropped connection), live status, thumbnails, a
// paginated list of past uploads, download and delete. No build step, no libraries.
//
// The pure helpers are exported (tests import this module in Chromium); the page starts only where
// the page's markup is.

const FINAL = new Set(["ready", "rejected", "failed", "expired"]);  // expired: the upload never arrived
const PAGE_SIZE = 12;
const PARALLEL_UPLOADS = 3;
const POLL_MS = 700;
const POLL_MAX_MS = 5000;
const EXPIRY_LEEWAY_S = 60;
const SESSION_KEY = "intake.session";
const PART_PARALLEL = 4; // parts of one large file in flight at once
const OPEN_UPLOADS_KEY = "intake.multipart.v1"; // localStorage: the open multipart uploads, per file
const URL_RENEWALS = 2; // fresh URLs one part asks for after S3 said its URL expired

const $ = (selector, root = document) => root.querySelector(selector);

// --- configuration ------------------------------------------------------------------------------

function readConfig() {
  // The keys are intake_tools/webconfig.py's, used as they are; region and endpoint may be derived.
  const config = Object.fromEntries(
    Object.entries(window.INTAKE_CONFIG || {}).filter(([, value]) => typeof value === "string"),
  );
  for (const key of ["apiUrl", "region", "userPoolId", "userPoolClientId", "cognitoEndpoint"]) {
    config[key] = config[key] || "";
  }
  config.apiUrl = config.apiUrl.replace(/\/+$/, "");
  if (!config.region && config.userPoolId.includes("_")) config.region = config.userPoolId.split("_")[0];
  if (!config.cognitoEndpoint && config.region) {
    config.cognitoEndpoint = `https://cognito-idp.${config.region}.amazonaws.com/`;
  }
  const missing = ["apiUrl", "userPoolClientId", "cognitoEndpoint"].filter((k) => !config[k]);
  if (missing.length) {
    throw new Error(`This page is not configured: config.js lacks ${missing.join(", ")}.`);
  }
  return config;
}

// --- messages -----------------------------------------------------------------------------------

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

function announce(message) {
  // Re-set the text so screen readers announce repeats too.
  const region = $("#announcer");
  region.textContent = "";
  window.setTimeout(() => (region.textContent = message), 50);
}

function s3ErrorText(xmlText, status) {
  try {
    const doc = new DOMParser().parseFromString(xmlText || "", "application/xml");
    const code = doc.querySelector("Error > Code")?.textContent;
    const message = doc.querySelector("Error > Message")?.textContent;
    if (code) return `S3 refused the upload: ${code}${message ? `: ${message}` : ""}`;
  } catch {
    // not XML: fall through to the status
  }
  return `S3 refused the upload (HTTP ${status}).`;
}

function humanSize(bytes) {
  if (typeof bytes !== "number") return "";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function humanDate(iso) {
  const date = iso ? new Date(iso) : null;
  return date && !Number.isNaN(date.getTime()) ? date.toLocaleString() : "";
}

// --- Cognito ------------------------------------------------------------------------------------

function jwtClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      [...atob(payload)].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

const COGNITO_MESSAGES = {
  NotAuthorizedException: "Incorrect email or password.",
  UserNotFoundException: "Incorrect email or password.",
  PasswordResetRequiredException: "Your password must be reset before you can sign in.",
  UserNotConfirmedException: "Your account is not confirmed yet.",
  InvalidPasswordException: "That password does not meet the password policy.",
  TooManyRequestsException: "Too many attempts; wait a moment and try again.",
};

// Origins this page's Content Security Policy refused: a call that fails to one of them says so,
// instead of passing for a network error (or, worse, for an expired session).
const refusedOrigins = new Set();
document.addEventListener("securitypolicyviolation", (event) => {
  try {
    refusedOrigins.add(new URL(event.blockedURI).origin);
  } catch {
    // "inline", "eval": no origin to remember
  }
});

// The message for a call to `url` that got no answer; `what` names the service ("the sign-in service").
async function unreachable(what, url, error) {
  const origin = new URL(url, window.location.href).origin;
  await new Promise((resolve) => window.setTimeout(resolve, 0)); // the violation event is queued
  const why = refusedOrigins.has(origin)
    ? "refused by this page's Content Security Policy"
    : `the connection failed (${error?.message || "network error"})`;
  return `Could not reach ${what} at ${origin}: ${why}.`;
}

async function cognito(config, action, body) {
  let response;
  try {
    response = await fetch(config.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new NetworkError(await unreachable("the sign-in service", config.cognitoEndpoint, error));
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(data.__type || "").split("#").pop();
    // For a wrong password Cognito's own message is clearer than ours when it adds a reason.
    const known = COGNITO_MESSAGES[type];
    const detail = data.message || data.Message || `HTTP ${response.status}`;
    throw new Error(type === "InvalidPasswordException" ? `${known} ${detail}` : known || `Sign-in failed: ${detail}`);
  }
  return data;
}

class Session {
  constructor(config) {
    this.config = config;
    this.tokens = null;
    try {
      this.tokens = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    } catch {
      this.tokens = null;
    }
  }

  get signedIn() {
    return Boolean(this.tokens?.idToken);
  }

  get email() {
    return this.tokens?.email || jwtClaims(this.tokens?.idToken || "").email || "";
  }

  store(result, email) {
    this.tokens = {
      idToken: result.IdToken,
      refreshToken: result.RefreshToken || this.tokens?.refreshToken || null,
      email: email || jwtClaims(result.IdToken).email || "",
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(this.tokens));
  }

  clear() {
    this.tokens = null;
    sessionStorage.removeItem(SESSION_KEY);
  }

  // Returns null when signed in, or the challenge to answer ({name, session, username}).
  async signIn(email, password) {
    const data = await cognito(this.config, "InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: this.config.userPoolClientId,
      AuthParameters: { USERNAME: email, PASSWORD: password },
    });
    return this.settle(data, email);
  }

  async answerNewPassword(challenge, newPassword) {
    const data = await cognito(this.config, "RespondToAuthChallenge", {
      ChallengeName: "NEW_PASSWORD_REQUIRED",
      ClientId: this.config.userPoolClientId,
      Session: challenge.session,
      ChallengeResponses: { USERNAME: challenge.username, NEW_PASSWORD: newPassword },
    });
    return this.settle(data, challenge.email);
  }

  settle(data, email) {
    if (data.AuthenticationResult) {
      this.store(data.AuthenticationResult, email);
      return null;
    }
    if (data.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      // With email as the username, Cognito names the user by its internal username here.
      const username = data.ChallengeParameters?.USERNAME || email;
      return { name: data.ChallengeName, session: data.Session, username, email };
    }
    throw new Error(`Sign-in needs the ${data.ChallengeName || "unknown"} step, which this page does not support.`);
  }

  async refresh() {
    if (!this.tokens?.refreshToken) throw new SessionExpired();
    try {
      const data = await cognito(this.config, "InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: this.config.userPoolClientId,
        AuthParameters: { REFRESH_TOKEN: this.tokens.refreshToken },
      });
      this.store(data.AuthenticationResult, this.tokens.email);
    } catch (error) {
      // Only Cognito's refusal of the refresh token ends the session; an unreachable Cognito does not.
      if (error instanceof NetworkError) throw error;
      throw new SessionExpired();
    }
  }

  async idToken() {
    if (!this.signedIn) throw new SessionExpired();
    const exp = jwtClaims(this.tokens.idToken).exp || 0;
    if (exp - EXPIRY_LEEWAY_S <= Date.now() / 1000) await this.refresh();
    return this.tokens.idToken;
  }
}

class SessionExpired extends Error {
  constructor() {
    super("Your session has expired. Please sign in again.");
  }
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// --- retries ------------------------------------------------------------------------------------

// The CLI's policy (intake_cli.retry): what AWS calls retryable (429 throttled, 502 the function's
// environment died, 503, 504) and network errors are tried again, up to RETRY_ATTEMPTS tries in all,
// after a wait drawn uniformly from [0, min(cap, base * 2^n)] (capped exponential backoff, full jitter).
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const RETRY_ATTEMPTS = 6;
const RETRY_BASE_MS = 250;
const RETRY_CAP_MS = 8000;

class NetworkError extends Error {}

class UrlExpired extends Error {
  constructor() {
    super("The upload link expired while retrying; add the file again.");
  }
}

function backoffMs(retry) {
  return Math.random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** retry);
}

// `attempt()` resolves with an answer ({status, ...}) or rejects with a NetworkError. Returns the first
// answer that is not retryable, or the last one when tries run out (a NetworkError is thrown then);
// a presigned request stops once the next try would start after `deadline` (ms since the epoch).
async function withRetries(attempt, deadline = Infinity) {
  for (let tried = 1; ; tried += 1) {
    let answer = null;
    let failure = null;
    try {
      answer = await attempt();
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      failure = error;
    }
    if (!failure && !RETRY_STATUSES.has(answer.status)) return answer;
    const delay = backoffMs(tried - 1);
    if (tried >= RETRY_ATTEMPTS) {
      if (failure) throw failure;
      return answer;
    }
    if (Date.now() + delay >= deadline) throw new UrlExpired();
    await new Promise((resolve) => window.setTimeout(resolve, delay));
  }
}

// --- the API ------------------------------------------------------------------------------------

class Api {
  constructor(config, session) {
    this.config = config;
    this.session = session;
  }

  async call(method, path, body) {
    for (let attempt = 1; ; attempt += 1) {
      const token = await this.session.idToken();
      const response = await withRetries(async () => {
        try {
          return await fetch(`${this.config.apiUrl}${path}`, {
            method,
            headers: {
              Authorization: `Bearer ${token}`,
              ...(body === undefined ? {} : { "Content-Type": "application/json" }),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
        } catch (error) {
          throw new NetworkError(await unreachable("the API", this.config.apiUrl, error));
        }
      });
      if (response.status === 401 && attempt === 1) {
        await this.session.refresh(); // the token expired in flight: one refresh, one retry
        continue;
      }
      if (response.status === 401) throw new SessionExpired();
      if (response.status === 204) return null;
      const data = await response.json().catch(() => null);
      if (!response.ok) {
        const message = data && typeof data.message === "string" ? data.message : response.statusText;
        throw new ApiError(response.status, `${message || "Request failed"} (HTTP ${response.status})`);
      }
      if (data === null) throw new Error(`The API answered ${method} ${path} with a body that is not JSON.`);
      return data;
    }
  }

  createUpload(file, contentType) {
    return this.call("POST", "/uploads", {
      filename: file.name,
      content_type: contentType,
      size: file.size,
      metadata: {},
    });
  }

  // The routes of an open multipart upload (404: gone or not yours, 409: no longer open).
  partUrls(uploadId, numbers) {
    return this.call("POST", `/uploads/${encodeURIComponent(uploadId)}/parts`, { part_numbers: numbers });
  }

  listParts(uploadId) {
    return this.call("GET", `/uploads/${encodeURIComponent(uploadId)}/parts`);
  }

  // No parts list: the API completes from the parts S3 holds, so the body stays far under WAF's 8 KB
  // body limit at any part count.
  complete(uploadId) {
    return this.call("POST", `/uploads/${encodeURIComponent(uploadId)}/complete`, {});
  }

  list(cursor) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set("cursor", cursor);
    return this.call("GET", `/uploads?${query}`);
  }

  get(uploadId) {
    return this.call("GET", `/uploads/${encodeURIComponent(uploadId)}`);
  }

  remove(uploadId) {
    return this.call("DELETE", `/uploads/${encodeURIComponent(uploadId)}`);
  }

  preferences() {
    return this.call("GET", "/me/preferences");
  }

  setPreferences(preferences) {
    return this.call("PUT", "/me/preferences", preferences);
  }
}

// One try of a presigned upload. XMLHttpRequest, not fetch: only it reports upload progress.
function sendToS3(upload, file, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method || "POST", upload.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => resolve({ status: xhr.status, text: xhr.responseText }));
    xhr.addEventListener("error", async () =>
      reject(new NetworkError(await unreachable("S3", upload.url, new Error("refused, dropped or blocked (CORS)")))),
    );
    xhr.addEventListener("timeout", () => reject(new NetworkError("The upload to S3 timed out.")));
    if ((upload.method || "POST").toUpperCase() === "PUT") {
      for (const [name, value] of Object.entries(upload.headers || {})) xhr.setRequestHeader(name, value);
      xhr.send(file);
      return;
    }
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields || {})) form.append(name, value);
    form.append("file", file, file.name); // S3 ignores every field after the file
    xhr.send(form);
  });
}

// The presigned upload, retried while its URL is valid (`expiresAt`, the grant's expires_at); a File
// is read again from its start on each try.
async function postToS3(upload, file, contentType, onProgress, expiresAt) {
  const deadline = Date.parse(expiresAt || "") || Infinity;
  const answer = await withRetries(() => sendToS3(upload, file, contentType, onProgress), deadline);
  if (answer.status < 200 || answer.status >= 300) throw new Error(s3ErrorText(answer.text, answer.status));
}

// --- large files: presigned multipart, resumable ------------------------------------------------

// Above the API's threshold POST /uploads answers {"method": "MULTIPART", part_size, part_count, parts}:
// the page PUTs each part (a slice of the File, never read whole), PART_PARALLEL at a time, and
// completes (the API completes from the parts S3 holds). localStorage remembers the open upload of each file, so that dropping
// the same file again after a reload or a dropped connection sends only the parts S3 lacks.

class UploadClosed extends Error {}

// [{number, start, end}] of a `size`-byte file; refuses a plan that does not cover it exactly.
export function planParts(size, partSize, partCount) {
  if (!(size > 0 && partSize > 0 && partCount === Math.ceil(size / partSize))) {
    throw new Error(`The API's part plan (${partCount} parts of ${partSize} bytes) does not fit the file's ${size} bytes.`);
  }
  return Array.from({ length: partCount }, (_, i) => ({
    number: i + 1,
    start: i * partSize,
    end: Math.min(size, (i + 1) * partSize),
  }));
}

// The parts still to send, and the ETags (Map) of those S3 holds with the same number and size.
export function partsToSend(parts, held) {
  const sizes = new Map(parts.map((p) => [p.number, p.end - p.start]));
  const etags = new Map();
  for (const item of held || []) {
    if (Number.isInteger(item?.part_number) && typeof item.etag === "string" && item.etag
        && sizes.get(item.part_number) === item.size) {
      etags.set(item.part_number, item.etag);
    }
  }
  return { missing: parts.filter((p) => !etags.has(p.number)), etags };
}

export function resumedText(held, count) {
  return `resumed: ${held} of ${count} parts already uploaded`;
}

// Which file an open upload belongs to: the user, and what the browser tells of the file.
export function fileKey(file, email) {
  return JSON.stringify([email, file.name, file.size, file.lastModified, file.type]);
}

// The open multipart uploads, per file (fileKey), in `storage` (localStorage).
export class OpenUploads {
  constructor(storage) {
    this.storage = storage;
  }

  all() {
    try {
      const data = JSON.parse(this.storage.getItem(OPEN_UPLOADS_KEY) || "{}");
      return data && typeof data === "object" && !Array.isArray(data) ? data : {};
    } catch {
      return {};
    }
  }

  get(key) {
    const entry = this.all()[key];
    return entry && typeof entry.uploadId === "string" ? entry : null;
  }

  set(key, entry) {
    this.storage.setItem(OPEN_UPLOADS_KEY, JSON.stringify({ ...this.all(), [key]: entry }));
  }

  forget(key) {
    const data = this.all();
    delete data[key];
    this.storage.setItem(OPEN_UPLOADS_KEY, JSON.stringify(data));
  }

  // An upload deleted from the page (DELETE aborts an open multipart upload) has nothing to resume.
  forgetUpload(uploadId) {
    const data = Object.fromEntries(Object.entries(this.all()).filter(([, entry]) => entry?.uploadId !== uploadId));
    this.storage.setItem(OPEN_UPLOADS_KEY, JSON.stringify(data));
  }
}

// The presigned URL of each part, asked from POST /parts in batches (up to 100) when missing or
// about to expire; `ask(numbers)` answers {parts: [{part_number, url}], expires_at}.
export class PartUrls {
  constructor(ask, wanted, known = [], knownExpiresAt = "", now = () => Date.now()) {
    this.ask = ask;
    this.wanted = wanted;
    this.now = now;
    this.urls = new Map(); // number -> {url, expiresMs}
    this.pending = null; // one POST /parts at a time
    this.add(known, knownExpiresAt);
  }

  add(parts, expiresAt) {
    const expiresMs = Date.parse(expiresAt || "") || Infinity;
    for (const item of parts || []) {
      if (Number.isInteger(item?.part_number) && typeof item.url === "string") {
        this.urls.set(item.part_number, { url: item.url, expiresMs });
      }
    }
  }

  fresh(number) {
    const entry = this.urls.get(number);
    return Boolean(entry) && entry.expiresMs - EXPIRY_LEEWAY_S * 1000 > this.now();
  }

  async url(number) {
    while (!this.fresh(number)) {
      if (!this.pending) {
        const numbers = [number, ...this.wanted.filter((n) => n > number && !this.fresh(n))].slice(0, 100);
        this.pending = this.ask(numbers)
          .then((answer) => this.add(answer.parts, answer.expires_at))
          .finally(() => (this.pending = null));
        await this.pending;
        if (!this.fresh(number)) throw new Error(`The API gave no upload link for part ${number}.`);
      } else {
        await this.pending.catch(() => null);
      }
    }
    return this.urls.get(number).url;
  }

  expired(number, url) {
    if (this.urls.get(number)?.url === url) this.urls.delete(number);
  }
}

// Runs `send(part)` over `parts`, `parallel` at a time. The first failure stops new parts from
// starting, calls `onFailure` (to abort those in flight) and is what the promise rejects with.
export async function runParts(parts, parallel, send, onFailure = () => {}) {
  const queue = [...parts];
  let failure = null;
  async function worker() {
    while (queue.length && !failure) {
      const part = queue.shift();
      try {
        await send(part);
      } catch (error) {
        if (!failure) {
          failure = error;
          onFailure(error);
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, parts.length) }, worker));
  if (failure) throw failure;
}

// One try of a part PUT: resolves {status, text, etag}; `xhrs` holds the requests in flight.
function putPart(url, blob, onProgress, xhrs) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhrs.add(xhr);
    const done = () => xhrs.delete(xhr);
    xhr.open("PUT", url);
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    xhr.addEventListener("load", () => {
      done();
      resolve({ status: xhr.status, text: xhr.responseText, etag: xhr.getResponseHeader("ETag") });
    });
    xhr.addEventListener("error", () => {
      done();
      reject(new NetworkError("A part of the upload failed: the connection was refused, dropped or blocked."));
    });
    xhr.addEventListener("abort", () => {
      done();
      reject(new Error("The upload was stopped."));
    });
    xhr.send(blob);
  });
}

// A part, retried as every request (429/5xx/network) while its URL is valid, with a fresh URL when
// it expires; resolves its ETag.
async function sendPart(part, file, urls, onProgress, xhrs) {
  for (let renewal = 0; ; renewal += 1) {
    const url = await urls.url(part.number);
    const deadline = urls.urls.get(part.number)?.expiresMs ?? Infinity;
    let answer = null;
    try {
      answer = await withRetries(() => putPart(url, file.slice(part.start, part.end), onProgress, xhrs), deadline);
    } catch (error) {
      if (!(error instanceof UrlExpired)) throw error;
    }
    const expired = !answer || (answer.status === 403 && /expired/i.test(answer.text || ""));
    if (!expired) return partEtag(part, answer);
    if (renewal >= URL_RENEWALS) throw new Error(`The upload link of part ${part.number} kept expiring. Is this computer's clock right?`);
    urls.expired(part.number, url);
  }
}

function partEtag(part, answer) {
  if (answer.status === 404 && /NoSuchUpload/.test(answer.text || "")) {
    throw new UploadClosed("This upload was aborted or completed meanwhile.");
  }
  if (answer.status < 200 || answer.status >= 300) throw new Error(`Part ${part.number}: ${s3ErrorText(answer.text, answer.status)}`);
  if (!answer.etag) throw new Error("S3 did not show the part's ETag (the bucket's CORS rule must expose ETag).");
  return answer.etag;
}

// --- record fields ------------------------------------------------------------------------------

function originalUrl(record) {
  return typeof record.download_url === "string" ? record.download_url : "";
}

// Only GET /uploads/{id} gives thumbnail URLs; list items carry sizes alone.
function thumbnailsOf(record) {
  return (Array.isArray(record.thumbnails) ? record.thumbnails : []).filter((t) => t && typeof t.url === "string");
}

// Documents and media have no thumbnails (the stack may allow them: intake.signatures): a file icon
// with a short label stands in for one. Inline SVG built through the DOM, so the page's CSP holds.
const FILE_LABELS = {
  "application/pdf": "PDF",
  "application/zip": "ZIP",
  "video/mp4": "MP4",
  "video/quicktime": "MOV",
  "audio/mpeg": "MP3",
};
const SVG_NS = "http://www.w3.org/2000/svg";

function fileLabel(contentType) {
  return FILE_LABELS[contentType] || (String(contentType).split("/")[1] || "file").slice(0, 4).toUpperCase();
}

// Not an image, by the type the record holds (the sniffed type once validated, else the declared one).
function isDocument(record) {
  const type = typeof record.content_type === "string" ? record.content_type : "";
  return type !== "" && !type.startsWith("image/");
}

function fileIcon(contentType) {
  const label = fileLabel(contentType);
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 48 60");
  svg.setAttribute("class", "file-icon");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${label} file (no thumbnail)`);
  svg.dataset.kind = label;
  const sheet = document.createElementNS(SVG_NS, "path");
  sheet.setAttribute("d", "M4 2h28l12 12v44H4z");
  sheet.setAttribute("class", "sheet");
  const fold = document.createElementNS(SVG_NS, "path");
  fold.setAttribute("d", "M32 2v12h12");
  fold.setAttribute("class", "fold");
  const text = document.createElementNS(SVG_NS, "text");
  text.setAttribute("x", "24");
  text.setAttribute("y", "42");
  text.setAttribute("text-anchor", "middle");
  text.textContent = label;
  svg.append(sheet, fold, text);
  return svg;
}

// --- the page -----------------------------------------------------------------------------------

class Page {
  constructor(config) {
    this.config = config;
    this.session = new Session(config);
    this.api = new Api(config, this.session);
    this.cards = new Map(); // upload id -> card element
    this.polls = new Map(); // upload id -> timer
    this.nextCursor = null;
    this.queue = [];
    this.active = 0;
    this.challenge = null;
    this.openUploads = new OpenUploads(window.localStorage);
    this.sending = new Set(); // fileKey of the files being uploaded now: one upload per file at once
  }

  start() {
    $("#sign-in-form").addEventListener("submit", (e) => this.onSignIn(e));
    $("#new-password-form").addEventListener("submit", (e) => this.onNewPassword(e));
    $("#sign-out").addEventListener("click", () => this.signOut());
    $("#file-input").addEventListener("change", (e) => {
      this.enqueue([...e.target.files]);
      e.target.value = "";
    });
    const zone = $("#drop-zone");
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      this.enqueue([...(e.dataTransfer?.files || [])]);
    });
    $("#load-more").addEventListener("click", () => this.loadPage(this.nextCursor));
    $("#refresh").addEventListener("click", () => this.reload());
    $("#email-pref").addEventListener("change", (e) => this.savePreference(e.target));
    if (this.session.signedIn) this.showApp();
    else this.showSignIn();
  }

  // --- sign-in ---

  showSignIn(message = "") {
    for (const id of ["#uploader", "#library", "#account"]) $(id).hidden = true;
    $("#sign-in").hidden = false;
    $("#sign-in-form").hidden = false;
    $("#new-password-form").hidden = true;
    showError(message);
    $("#email").focus();
  }

  async onSignIn(event) {
    event.preventDefault();
    const button = $("#sign-in-form button");
    button.disabled = true;
    showError("");
    try {
      this.challenge = await this.session.signIn($("#email").value.trim(), $("#password").value);
      if (this.challenge) {
        $("#sign-in-form").hidden = true;
        $("#new-password-user").value = this.challenge.email;
        $("#new-password-form").hidden = false;
        $("#new-password").focus();
      } else {
        this.showApp();
      }
    } catch (error) {
      showError(error.message);
    } finally {
      button.disabled = false;
      $("#password").value = "";
    }
  }

  async onNewPassword(event) {
    event.preventDefault();
    const password = $("#new-password").value;
    if (password !== $("#new-password-again").value) {
      showError("The two new passwords differ.");
      return;
    }
    showError("");
    try {
      this.challenge = await this.session.answerNewPassword(this.challenge, password);
      if (!this.challenge) this.showApp();
    } catch (error) {
      showError(error.message);
    }
  }

  signOut(message = "") {
    this.session.clear();
    $("#email-pref-status").textContent = "";
    for (const timer of this.polls.values()) window.clearTimeout(timer);
    this.polls.clear();
    this.cards.clear();
    $("#uploads").replaceChildren();
    this.showSignIn(message);
    announce("Signed out.");
  }

  showApp() {
    $("#sign-in").hidden = true;
    for (const id of ["#uploader", "#library", "#account"]) $(id).hidden = false;
    $("#account-email").textContent = this.session.email;
    showError("");
    announce(`Signed in as ${this.session.email}.`);
    this.loadPreferences();
    this.reload();
  }

  // --- preferences: how finished uploads are announced (GET/PUT /me/preferences) ---

  async loadPreferences() {
    const select = $("#email-pref");
    select.disabled = true;
    try {
      const preferences = await this.api.preferences();
      select.value = preferences.email;
      select.dataset.saved = preferences.email;
      select.disabled = false;
    } catch (error) {
      this.handle(error);
    }
  }

  async savePreference(select) {
    const status = $("#email-pref-status");
    select.disabled = true;
    status.textContent = "Saving…";
    try {
      const saved = await this.api.setPreferences({ email: select.value });
      select.value = saved.email;
      select.dataset.saved = saved.email;
      status.textContent = "Saved.";
    } catch (error) {
      select.value = select.dataset.saved || "digest"; // show what is really stored
      status.textContent = "";
      this.handle(error);
    } finally {
      select.disabled = false;
    }
  }

  // Every API failure goes through here: an expired session signs out, the rest is shown.
  handle(error, card = null) {
    if (error instanceof SessionExpired) {
      this.signOut(error.message);
      return;
    }
    if (card) {
      const box = $(".card-error", card);
      box.textContent = error.message;
      box.hidden = false;
    } else {
      showError(error.message);
    }
  }

  // --- listing ---

  async reload() {
    for (const [id, card] of this.cards) {
      if (card.dataset.local !== "true") {
        card.remove();
        this.cards.delete(id);
        window.clearTimeout(this.polls.get(id));
        this.polls.delete(id);
      }
    }
    await this.loadPage(null);
  }

  async loadPage(cursor) {
    const button = $("#load-more");
    button.disabled = true;
    try {
      const page = await this.api.list(cursor);
      for (const record of page.items || []) {
        if (this.cards.has(record.upload_id)) continue;
        const card = this.newCard(record.filename, record.upload_id);
        $("#uploads").append(card);
        this.render(card, record);
        if (!FINAL.has(record.status)) this.poll(record.upload_id, POLL_MAX_MS);
        else if (record.status === "ready") this.fetchDetails(record.upload_id);
      }
      this.nextCursor = page.next_cursor || null;
      button.hidden = !this.nextCursor;
      showError("");
    } catch (error) {
      this.handle(error);
    } finally {
      button.disabled = false;
      this.showEmptyIfNoCards();
    }
  }

  async fetchDetails(uploadId) {
    const card = this.cards.get(uploadId);
    try {
      const record = await this.api.get(uploadId);
      if (card?.isConnected) this.render(card, record);
    } catch (error) {
      if (card?.isConnected) this.handle(error, card);
    }
  }

  // --- cards ---

  showEmptyIfNoCards() {
    // Counts the cards on the page, not this.cards: a new upload's card shows before its id is known.
    $("#empty").hidden = $("#uploads").childElementCount > 0;
  }

  newCard(filename, uploadId = null) {
    const card = $("#upload-card").content.firstElementChild.cloneNode(true);
    card.dataset.filename = filename;
    $(".name", card).textContent = filename;
    $(".name", card).title = filename;
    if (uploadId) this.adopt(card, uploadId);
    $(".download", card).addEventListener("click", () => this.download(card));
    $(".delete", card).addEventListener("click", () => this.remove(card));
    $("progress", card).setAttribute("aria-label", `Upload progress of ${filename}`);
    $("#empty").hidden = true;
    return card;
  }

  adopt(card, uploadId) {
    // A listing that raced with this upload may already show it: keep only this card.
    const listed = this.cards.get(uploadId);
    if (listed && listed !== card) {
      window.clearTimeout(this.polls.get(uploadId));
      listed.remove();
    }
    card.dataset.uploadId = uploadId;
    this.cards.set(uploadId, card);
  }

  setStatus(card, status, label = status) {
    const previous = card.dataset.status;
    card.dataset.status = status;
    const badge = $(".badge", card);
    badge.textContent = label;
    badge.className = `badge ${status}`;
    if (previous !== status && FINAL.has(status)) announce(`${card.dataset.filename}: ${label}.`);
  }

  render(card, record) {
    this.setStatus(card, record.status || "pending");
    const size = record.size ?? record.declared_size;
    const pixels = record.width && record.height ? `${record.width}×${record.height}` : "";
    $(".meta", card).textContent = [humanSize(size), pixels, humanDate(record.created_at)].filter(Boolean).join(" · ");
    const reasons = $(".reasons", card);
    reasons.replaceChildren(
      ...(record.status_reasons || []).map((reason) => {
        const item = document.createElement("li");
        item.textContent = reason;
        return item;
      }),
    );
    const thumbs = thumbnailsOf(record);
    if (thumbs.length && !$("img", card)) {
      const sorted = [...thumbs].sort((a, b) => (a.size || a.width || 0) - (b.size || b.width || 0));
      const img = document.createElement("img");
      img.alt = `Thumbnail of ${card.dataset.filename}`;
      img.decoding = "async";
      img.src = sorted[0].url;
      img.srcset = sorted.map((t) => `${t.url} ${t.width || t.size}w`).join(", ");
      img.sizes = "160px";
      img.addEventListener("error", () => (img.alt = `Thumbnail of ${card.dataset.filename} (failed to load)`));
      $(".thumb", card).replaceChildren(img);
    } else if (!thumbs.length && isDocument(record) && !$(".file-icon", card)) {
      $(".thumb", card).replaceChildren(fileIcon(record.content_type));
    }
    $(".download", card).hidden = !card.dataset.uploadId || record.status === "failed";
    $(".delete", card).hidden = !card.dataset.uploadId;
  }

  // Polls until the status is final, ever more slowly: most uploads settle within seconds, and an
  // upload that was never sent stays pending for good.
  poll(uploadId, delay = POLL_MS) {
    window.clearTimeout(this.polls.get(uploadId));
    const next = Math.min(delay * 1.5, POLL_MAX_MS);
    const timer = window.setTimeout(async () => {
      const card = this.cards.get(uploadId);
      if (!card?.isConnected) return;
      try {
        const record = await this.api.get(uploadId);
        $(".card-error", card).hidden = true;
        this.render(card, record);
        if (FINAL.has(record.status)) this.polls.delete(uploadId);
        else this.poll(uploadId, next);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          this.handle(new Error("This upload no longer exists."), card);
          return;
        }
        this.handle(error, card);
        if (!(error instanceof SessionExpired)) this.poll(uploadId, next);
      }
    }, delay);
    this.polls.set(uploadId, timer);
  }

  // --- uploads ---

  enqueue(files) {
    for (const file of files) {
      const card = this.newCard(file.name);
      card.dataset.local = "true";
      this.setStatus(card, "queued");
      $("#uploads").prepend(card);
      this.queue.push({ file, card });
    }
    if (files.length) announce(`${files.length} file${files.length > 1 ? "s" : ""} queued.`);
    this.pump();
  }

  pump() {
    while (this.active < PARALLEL_UPLOADS && this.queue.length) {
      const { file, card } = this.queue.shift();
      this.active += 1;
      this.uploadOne(file, card).finally(() => {
        this.active -= 1;
        this.pump();
      });
    }
  }

  async uploadOne(file, card) {
    const progress = $("progress", card);
    const contentType = file.type || "application/octet-stream";
    const key = fileKey(file, this.session.email);
    $(".meta", card).textContent = humanSize(file.size);
    if (this.sending.has(key)) {
      // Its parts are on their way: a second upload of the same parts would race with the first.
      this.setStatus(card, "error", "upload failed");
      this.handle(new Error("This file is already uploading."), card);
      $(".delete", card).hidden = false;
      $(".delete", card).textContent = "Dismiss";
      return;
    }
    let mine = false;
    try {
      const open = this.openUploads.get(key);
      if (open) {
        mine = true;
        this.sending.add(key);
        if (await this.resumeUpload(file, card, key, open)) return;
      }
      this.setStatus(card, "uploading", "requesting upload");
      const grant = await this.api.createUpload(file, contentType);
      this.adopt(card, grant.upload_id);
      progress.hidden = false;
      this.setStatus(card, "uploading", "uploading");
      if (grant.upload?.method === "MULTIPART") {
        const { part_size: partSize, part_count: partCount, parts: known } = grant.upload;
        const uploadId = grant.upload_id;
        mine = true;
        this.sending.add(key);
        this.openUploads.set(key, { uploadId, partSize, partCount, startedAt: new Date().toISOString() });
        await this.sendMultipart(file, card, key, { uploadId, partSize, partCount, known, expiresAt: grant.expires_at });
      } else {
        await postToS3(grant.upload, file, contentType, (fraction) => {
          progress.value = Math.round(fraction * 100);
        }, grant.expires_at);
      }
      this.uploaded(file, card);
    } catch (error) {
      progress.hidden = true;
      this.setStatus(card, "error", "upload failed");
      // An open multipart upload stays: the same file dropped again continues it.
      const resumable = this.openUploads.get(key) && !(error instanceof SessionExpired);
      this.handle(resumable ? new Error(`${error.message} Drop the same file again to resume.`) : error, card);
      // Without an upload id there is nothing to delete on the server: the button just dismisses.
      const button = $(".delete", card);
      button.hidden = false;
      if (!card.dataset.uploadId) button.textContent = "Dismiss";
    } finally {
      if (mine) this.sending.delete(key);
    }
  }

  uploaded(file, card) {
    const progress = $("progress", card);
    progress.value = 100;
    progress.hidden = true;
    this.setStatus(card, "pending", "pending");
    announce(`${file.name} uploaded; processing.`);
    this.poll(card.dataset.uploadId, 300);
  }

  // Continues the open multipart upload of this file: true once sent, false when it is no longer
  // open (completed, aborted, expired or deleted meanwhile), so that a new upload starts.
  async resumeUpload(file, card, key, open) {
    this.setStatus(card, "uploading", "resuming");
    let listing;
    try {
      listing = await this.api.listParts(open.uploadId);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
        this.openUploads.forget(key);
        return false;
      }
      throw error;
    }
    try {
      planParts(file.size, listing.part_size, listing.part_count);
    } catch {
      this.openUploads.forget(key); // planned otherwise than this file: start anew
      return false;
    }
    this.adopt(card, open.uploadId);
    await this.sendMultipart(file, card, key, {
      uploadId: open.uploadId,
      partSize: listing.part_size,
      partCount: listing.part_count,
      held: listing.parts,
    });
    this.uploaded(file, card);
    return true;
  }

  // Sends the parts S3 lacks (`plan.held`: what GET /parts listed), PART_PARALLEL at a time with one
  // progress bar for the whole file, then completes the upload.
  async sendMultipart(file, card, key, plan) {
    const progress = $("progress", card);
    const parts = planParts(file.size, plan.partSize, plan.partCount);
    const { missing, etags } = partsToSend(parts, plan.held);
    if (plan.held) {
      const note = resumedText(etags.size, parts.length);
      $(".note", card).textContent = `${note[0].toUpperCase()}${note.slice(1)}.`;
      $(".note", card).hidden = false;
      announce(`${file.name}: ${note}.`);
    }
    let done = parts.filter((p) => etags.has(p.number)).reduce((sum, p) => sum + p.end - p.start, 0);
    const inFlight = new Map(); // part number -> bytes sent by its current try
    const show = () => {
      const sent = done + [...inFlight.values()].reduce((sum, n) => sum + n, 0);
      progress.value = Math.round((100 * sent) / file.size);
    };
    progress.hidden = false;
    show();
    this.setStatus(card, "uploading", "uploading");
    const ask = (numbers) => this.api.partUrls(plan.uploadId, numbers);
    const urls = new PartUrls(ask, missing.map((p) => p.number), plan.known, plan.expiresAt);
    const xhrs = new Set();
    const send = async (part) => {
      const onProgress = (loaded) => {
        inFlight.set(part.number, loaded);
        show();
      };
      etags.set(part.number, await sendPart(part, file, urls, onProgress, xhrs));
      inFlight.delete(part.number);
      done += part.end - part.start;
      show();
    };
    try {
      await runParts(missing, PART_PARALLEL, send, () => xhrs.forEach((xhr) => xhr.abort()));
      this.setStatus(card, "uploading", "completing");
      await this.api.complete(plan.uploadId);
    } catch (error) {
      if (await this.closedFor(error, plan.uploadId)) this.openUploads.forget(key);
      throw error;
    }
    this.openUploads.forget(key);
  }

  // Whether `error` left the upload closed for good (nothing to resume).
  async closedFor(error, uploadId) {
    if (error instanceof UploadClosed) return true;
    if (!(error instanceof ApiError)) return false;
    if (error.status === 404 || error.status === 409) return true;
    if (error.status !== 400) return false;
    // A 400 of /complete: refused for good when the parts add up to another size (rejected).
    const record = await this.api.get(uploadId).catch(() => null);
    return record?.status === "rejected";
  }

  // --- download and delete ---

  async download(card) {
    try {
      // Ask again: the presigned URLs in an old record may have expired.
      const url = originalUrl(await this.api.get(card.dataset.uploadId));
      if (!url) throw new Error("This upload has no downloadable file.");
      // The URL answers with Content-Disposition: attachment, so the page stays and the file downloads.
      const link = document.createElement("a");
      link.href = url;
      link.download = card.dataset.filename;
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      this.handle(error, card);
    }
  }

  async remove(card) {
    const { uploadId, filename } = card.dataset;
    if (!uploadId) {
      card.remove();
      return;
    }
    if (!window.confirm(`Delete ${filename}, its thumbnails and its record?`)) return;
    try {
      await this.api.remove(uploadId);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        this.handle(error, card);
        return;
      }
    }
    this.openUploads.forgetUpload(uploadId);
    window.clearTimeout(this.polls.get(uploadId));
    this.polls.delete(uploadId);
    this.cards.delete(uploadId);
    card.remove();
    this.showEmptyIfNoCards();
    announce(`${filename} deleted.`);
  }
}

export function main() {
  let config;
  try {
    config = readConfig();
  } catch (error) {
    showError(error.message);
    return;
  }
  new Page(config).start();
}

// Only on the upload page: a test importing this module for its helpers gets them alone.
if (document.querySelector("#sign-in")) main();
