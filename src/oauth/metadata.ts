/** RFC 8414 authorisation server metadata, so standard clients configure themselves by discovery. */
import { CAPABILITIES } from './capabilities.js';

export function authorizationServerMetadata(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/v1/oauth/authorize`,
    token_endpoint: `${issuer}/v1/oauth/token`,
    introspection_endpoint: `${issuer}/v1/oauth/introspect`,
    revocation_endpoint: `${issuer}/v1/oauth/revoke`,
    // RFC 7591: AI agents that nobody registered by hand register themselves (public clients, PKCE).
    registration_endpoint: `${issuer}/v1/oauth/register`,
    // An https client_id names the agent's Client ID Metadata Document (src/oauth/client-metadata-document.ts).
    client_id_metadata_document_supported: true,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    scopes_supported: [...CAPABILITIES],
    authorization_response_iss_parameter_supported: true,
    service_documentation: `${issuer}/docs`,
  };
}
