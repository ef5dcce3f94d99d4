import { ConfigError } from '@tenantry/config';
import { describe, expect, test } from 'vitest';
import { loadGatewayConfig, upstreamsOf } from './config.ts';
import { DEFAULT_UPSTREAMS } from './upstreams.ts';

describe('loadGatewayConfig', () => {
  test('every variable has a default fit for the cluster', () => {
    const config = loadGatewayConfig({});
    expect(config).toMatchObject({
      PORT: 4000,
      PLATFORM_NAMESPACE: 'tenantry-system',
      CORS_ORIGINS: [],
      TRUSTED_PROXIES: [],
    });
    expect(config.KUBECONFIG).toBeUndefined();
    expect(upstreamsOf(config)).toEqual(DEFAULT_UPSTREAMS);
  });

  test('reads the upstreams and lists, and names every invalid variable', () => {
    const config = loadGatewayConfig({
      CHAT_URL: 'http://tenantry-chat:3002',
      TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.4',
      CORS_ORIGINS: 'https://app.acme.test',
    });
    expect(upstreamsOf(config).chat).toBe('http://tenantry-chat:3002');
    // "none": the service is not deployed.
    expect(upstreamsOf(loadGatewayConfig({ BILLING_URL: 'none' })).billing).toBeNull();
    expect(config.TRUSTED_PROXIES).toEqual(['10.0.0.0/8', '192.168.1.4']);

    expect(() => loadGatewayConfig({ AUTH_URL: 'auth', PORT: '0' })).toThrow(ConfigError);
    try {
      loadGatewayConfig({ AUTH_URL: 'auth', PORT: '0' });
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([
        'PORT must be an integer from 1 to 65535, got "0"',
        'AUTH_URL must be an http(s) URL, or "none" when the service is not deployed, got "auth"',
      ]);
    }
  });
});
