/**
 * The requests that need no access token at the edge: the ones a caller makes before it has one (or
 * after it expired), and the tenant's public keys. The service behind still decides what they do;
 * everything else under `/api` needs a bearer token of the Host's tenant, signing out included (auth
 * ends the session of the token presented).
 */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'POST /api/auth/signup',
  'POST /api/auth/signin',
  'POST /api/auth/refresh',
  'POST /api/auth/verify-email',
  'POST /api/auth/resend-verification',
  'POST /api/auth/forgot-password',
  'POST /api/auth/reset-password',
  'POST /api/auth/accept-invitation',
  // The plans on offer; and Stripe's webhooks, which carry no token: their signature authenticates them.
  'GET /api/billing/plans',
  'POST /api/billing/webhooks/stripe',
  // The one-click unsubscribe link of a mail (RFC 8058): its signed, expiring token is the authority.
  'GET /api/notifications/unsubscribe',
  'POST /api/notifications/unsubscribe',
  'GET /api/auth/.well-known/jwks.json',
]);

/**
 * Exact matches on the raw path: anything that is not literally a public route (an encoded or
 * dot-segment variant) needs a token, so a path the service would normalise differently fails closed.
 */
export function isPublicRoute(method: string, url: string): boolean {
  const path = url.split('?', 1)[0];
  const asked = method === 'HEAD' ? 'GET' : method;
  return PUBLIC_ROUTES.has(`${asked} ${path}`);
}
