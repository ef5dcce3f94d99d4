import { CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import {
  MANAGED_BY_SELECTOR,
  tenantOfPublicKeysConfigMapName,
  tenantOfSigningKeySecretName,
} from '@tenantry/tenant-api';
import {
  type Logger,
  publicKeysFromConfigMap,
  type ResourceWatch,
  signingKeyFromSecret,
  type TenantPublicKeys,
  type TenantSigningKey,
  watchResources,
  watchTenantSecrets,
} from '@tenantry/tenant-secrets';
import {
  type CryptoKey,
  createLocalJWKSet,
  errors,
  importJWK,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from 'jose';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  type AccessClaims,
  ROLES,
  type Role,
  TOKEN_ISSUER,
  tokenAudience,
} from './claims.ts';

/** Why a token was refused; the code goes into the HTTP error body as it is. */
export class InvalidTokenError extends Error {
  readonly code: 'TOKEN_EXPIRED' | 'TOKEN_INVALID';
  constructor(code: 'TOKEN_EXPIRED' | 'TOKEN_INVALID', message: string) {
    super(message);
    this.name = 'InvalidTokenError';
    this.code = code;
  }
}

interface TenantKey {
  /** The public keys; with the private key where this instance signs (auth). */
  signingKey: TenantPublicKeys & { privateJwk?: TenantSigningKey['privateJwk'] };
  verifyKey: JWTVerifyGetKey;
  /**
   * Tokens this key verified, with their claims, until their expiry (at most VERIFIED_CACHE_MS): a
   * client sends the same token with every request, and an ES256 verification costs far more than
   * the rest of a proxied request. The cache belongs to the key, so a replaced key starts empty.
   */
  verified: Map<string, { claims: AccessClaims; validUntilMs: number }>;
  /** Imported on first signature: verifiers (the gateway, users) never import the private key. */
  privateKey?: Promise<CryptoKey | Uint8Array>;
}

const ALGORITHM = 'ES256';
/** How long a verified token is trusted without checking its signature again (never past its exp). */
const VERIFIED_CACHE_MS = 60_000;
/** Tokens remembered per tenant; beyond it the oldest entry goes first. */
const VERIFIED_CACHE_ENTRIES = 10_000;
/** Clock skew tolerated between the pod that signed and the one verifying. */
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Each tenant's keys (one key pair per tenant, never shared), followed from what the operator writes
 * in the platform namespace: a tenant created while the service runs can sign and verify at once, a
 * deleted one cannot. A token is verified only against the key of the tenant the request is for, and
 * must name that tenant in its audience, so tenant A's token is refused at tenant B twice over.
 *
 * Two ways to start: `start({ signing: true })` follows the signing key Secrets (private keys; only
 * the auth service, which issues tokens); `start()` follows the public keys ConfigMaps, so verifiers
 * (the gateway, the other services) need no access to Secrets for keys.
 */
export class TenantKeys {
  readonly #keys = new Map<string, TenantKey>();
  #watch: ResourceWatch | undefined;

  /** Keys given directly (tests, benchmarks); start() follows the operator's objects instead. */
  static fromKeys(keys: Record<string, TenantSigningKey>): TenantKeys {
    const tenantKeys = new TenantKeys();
    for (const [tenant, key] of Object.entries(keys)) tenantKeys.#set(tenant, key);
    return tenantKeys;
  }

  /** Resolves once the keys are listed and watched (retrying, and logging, until then). */
  static async start(options: {
    kc: KubeConfig;
    namespace: string;
    logger?: Logger;
    /** Follow the private keys too (Secrets), to sign; by default only the public keys (ConfigMaps). */
    signing?: boolean;
  }): Promise<TenantKeys> {
    const tenantKeys = new TenantKeys();
    const { kc, namespace, logger } = options;
    if (options.signing) {
      tenantKeys.#watch = await watchTenantSecrets(
        kc,
        namespace,
        {
          upsert: (secret) => tenantKeys.#upsertSecret(secret, logger),
          deleted: (secret) => tenantKeys.#forget(tenantOfSigningKeySecretName(secret.metadata?.name)),
        },
        logger,
      );
      return tenantKeys;
    }
    const core = kc.makeApiClient(CoreV1Api);
    tenantKeys.#watch = await watchResources<V1ConfigMap>({
      kc,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      list: () => core.listNamespacedConfigMap({ namespace, labelSelector: MANAGED_BY_SELECTOR }),
      labelSelector: MANAGED_BY_SELECTOR,
      handlers: {
        upsert: (configMap) => tenantKeys.#upsertConfigMap(configMap, logger),
        deleted: (configMap) => tenantKeys.#forget(tenantOfPublicKeysConfigMapName(configMap.metadata?.name)),
      },
      description: 'tenant public keys ConfigMap',
      ...(logger ? { logger } : {}),
    });
    return tenantKeys;
  }

  has(tenant: string): boolean {
    return this.#keys.has(tenant);
  }

  /** The tenant's public keys, as served at its JWKS endpoint. */
  jwks(tenant: string): TenantPublicKeys['jwks'] | undefined {
    return this.#keys.get(tenant)?.signingKey.jwks;
  }

  /** An access token for `claims`, signed with the key of `claims.tenant`. */
  async sign(claims: AccessClaims, ttlSeconds = ACCESS_TOKEN_TTL_SECONDS): Promise<string> {
    const key = this.#keys.get(claims.tenant);
    if (!key) throw new Error(`no signing key for tenant ${claims.tenant}`);
    const privateJwk = key.signingKey.privateJwk;
    if (!privateJwk)
      throw new Error(`tenant ${claims.tenant}: this instance follows public keys only and cannot sign`);
    key.privateKey ??= importJWK(privateJwk, ALGORITHM);
    const { sub, ...rest } = claims;
    return new SignJWT(rest)
      .setProtectedHeader({ alg: ALGORITHM, kid: key.signingKey.keyId, typ: 'at+jwt' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(tokenAudience(claims.tenant))
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(await key.privateKey);
  }

  /** The claims of `token` when it is a valid, unexpired token of `tenant`; InvalidTokenError otherwise. */
  async verify(tenant: string, token: string): Promise<AccessClaims> {
    const key = this.#keys.get(tenant);
    if (!key) throw new InvalidTokenError('TOKEN_INVALID', `no signing key for tenant ${tenant}`);
    const now = Date.now();
    const cached = key.verified.get(token);
    if (cached && cached.validUntilMs > now) return cached.claims;
    if (cached) key.verified.delete(token);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key.verifyKey, {
        algorithms: [ALGORITHM],
        issuer: TOKEN_ISSUER,
        audience: tokenAudience(tenant),
        typ: 'at+jwt',
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        throw new InvalidTokenError('TOKEN_EXPIRED', 'the access token expired');
      throw new InvalidTokenError('TOKEN_INVALID', 'the access token is not valid for this tenant');
    }
    const claims = claimsOf(tenant, payload);
    // As long as jwtVerify itself would accept it: until exp plus the tolerated clock skew.
    const expiresMs = typeof payload.exp === 'number' ? (payload.exp + CLOCK_TOLERANCE_SECONDS) * 1000 : now;
    if (key.verified.size >= VERIFIED_CACHE_ENTRIES) {
      const oldest = key.verified.keys().next().value;
      if (oldest !== undefined) key.verified.delete(oldest);
    }
    key.verified.set(token, { claims, validUntilMs: Math.min(expiresMs, now + VERIFIED_CACHE_MS) });
    return claims;
  }

  async close(): Promise<void> {
    await this.#watch?.stop();
  }

  #upsertSecret(secret: V1Secret, logger: Logger | undefined): void {
    const tenant = tenantOfSigningKeySecretName(secret.metadata?.name);
    if (tenant) this.#update(tenant, () => signingKeyFromSecret(tenant, secret), 'Secret', logger);
  }

  #upsertConfigMap(configMap: V1ConfigMap, logger: Logger | undefined): void {
    const tenant = tenantOfPublicKeysConfigMapName(configMap.metadata?.name);
    if (tenant) this.#update(tenant, () => publicKeysFromConfigMap(tenant, configMap), 'ConfigMap', logger);
  }

  #update(
    tenant: string,
    read: () => TenantKey['signingKey'],
    kind: string,
    logger: Logger | undefined,
  ): void {
    try {
      const signingKey = read();
      if (this.#keys.get(tenant)?.signingKey.keyId !== signingKey.keyId) this.#set(tenant, signingKey);
    } catch (error) {
      this.#keys.delete(tenant);
      logger?.warn(
        { tenant, reason: error instanceof Error ? error.message : String(error) },
        `ignoring an invalid tenant key ${kind}; the tenant's tokens are refused until it is repaired`,
      );
    }
  }

  #forget(tenant: string | undefined): void {
    if (tenant) this.#keys.delete(tenant);
  }

  #set(tenant: string, signingKey: TenantKey['signingKey']): void {
    this.#keys.set(tenant, {
      signingKey,
      verifyKey: createLocalJWKSet(signingKey.jwks as never),
      verified: new Map(),
    });
  }
}

/** Signature and audience are proven; the claims' shape and tenant are checked here. */
function claimsOf(tenant: string, payload: Record<string, unknown>): AccessClaims {
  const { sub, tenant: claimed, role, email, emailVerified, sid } = payload;
  const valid =
    typeof sub === 'string' &&
    claimed === tenant &&
    typeof role === 'string' &&
    (ROLES as readonly string[]).includes(role) &&
    typeof email === 'string' &&
    typeof emailVerified === 'boolean' &&
    typeof sid === 'string';
  if (!valid) throw new InvalidTokenError('TOKEN_INVALID', 'the access token is not valid for this tenant');
  return { sub, tenant, role: role as Role, email, emailVerified, sid };
}
