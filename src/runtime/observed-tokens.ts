/**
 * The token store with its outcomes counted (tokens issued, refreshed and
 * revoked): counted where the store decides them, so the OAuth endpoints and
 * the console's revocation stay as they are.
 */
import type { TokenMetrics } from '../http/operator-metrics.js';
import type { TokenStore } from '../store/tokens.js';
import type { RevokedCount } from '../store/token-units.js';

const total = (revoked: RevokedCount) => revoked.accessTokens + revoked.refreshTokens;

export function observedTokenStore(store: TokenStore, metrics: TokenMetrics): TokenStore {
  return {
    ...store,
    async redeemCode(args) {
      const outcome = await store.redeemCode(args);
      if (outcome.kind === 'issued') metrics.issued();
      else metrics.revoked('code_replay', total(outcome.revoked));
      return outcome;
    },
    async revokeReplayedCode(codeHash, now, replayed) {
      const revoked = await store.revokeReplayedCode(codeHash, now, replayed);
      metrics.revoked('code_replay', total(revoked));
      return revoked;
    },
    async rotateRefreshToken(args) {
      const outcome = await store.rotateRefreshToken(args);
      if (outcome.kind === 'reused') metrics.revoked('refresh_reuse', total(outcome.revoked));
      else metrics.refreshed();
      return outcome;
    },
    async revokeAccessToken(tokenHash, now) {
      const revoked = await store.revokeAccessToken(tokenHash, now);
      if (revoked) metrics.revoked('revocation_endpoint', 1);
      return revoked;
    },
    async revokeFamily(familyId, now, audit) {
      const revoked = await store.revokeFamily(familyId, now, audit);
      metrics.revoked('revocation_endpoint', total(revoked));
      return revoked;
    },
    async revokeGrant(grantId, revocation, now, audit) {
      const revoked = await store.revokeGrant(grantId, revocation, now, audit);
      if (revoked) metrics.revoked('grant', 1);
      return revoked;
    },
  };
}
