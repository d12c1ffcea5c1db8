/**
 * Sign-in through any OpenID provider found by discovery, with
 * openid-client's passport Strategy. The Strategy always uses PKCE but sends
 * `state` only when the provider lacks PKCE; we always send both, so a
 * callback without the state it started with fails (tested in
 * test/identity/sign-in.test.ts).
 */
import * as client from 'openid-client';
import { Strategy, type StrategyOptionsWithRequest, type VerifyFunctionWithRequest } from 'openid-client/passport';
import type { Request } from 'express';

export class StatefulOidcStrategy extends Strategy {
  constructor(options: StrategyOptionsWithRequest, verify: VerifyFunctionWithRequest) {
    super(options, verify);
  }

  override authorizationRequestParams(req: Request, options: Parameters<Strategy['authorizationRequestParams']>[1]): URLSearchParams {
    const params = new URLSearchParams(
      super.authorizationRequestParams(req, options) as URLSearchParams | Record<string, string> | undefined,
    );
    params.set('state', client.randomState());
    return params;
  }
}

export interface ProviderSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  allowHttp: boolean;
}

/** Discovery, retried on the next sign-in if the provider was down: never cached as a failure. */
export function lazyDiscovery(settings: ProviderSettings): () => Promise<client.Configuration> {
  let pending: Promise<client.Configuration> | null = null;
  return () => {
    if (!pending) {
      pending = client
        .discovery(
          new URL(settings.issuer),
          settings.clientId,
          settings.clientSecret,
          undefined,
          settings.allowHttp ? { execute: [client.allowInsecureRequests], timeout: 5 } : { timeout: 5 },
        )
        .catch((err) => {
          pending = null;
          throw err;
        });
    }
    return pending;
  };
}
