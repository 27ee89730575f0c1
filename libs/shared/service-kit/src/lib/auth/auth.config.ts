import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsString, Max, Min } from 'class-validator';

/**
 * Bearer-token settings shared by every service. AUTH_JWT_KEYS is a JSON array of verification keys,
 * each `{"kid": "...", "alg": "HS256", "secret": "<at least 32 characters>"}` or
 * `{"kid": "...", "alg": "RS256" | "ES256" | "EdDSA", "publicKey": "<PEM>"}` (or `"publicKeyFile": "<path>"`).
 * Several keys may be active at once (rotation); a token names its key with the `kid` header.
 */
export class AuthConfig {
  @IsString() @IsNotEmpty({ message: 'AUTH_JWT_KEYS is required: a JSON array of {kid, alg, secret | publicKey | publicKeyFile}' })
  AUTH_JWT_KEYS = '';

  /** Expected `iss` of every token. */
  @IsString() @IsNotEmpty()
  AUTH_JWT_ISSUER = 'kizuna';

  /** Expected `aud` of every token (a token may list several audiences; one must match). */
  @IsString() @IsNotEmpty()
  AUTH_JWT_AUDIENCE = 'kizuna-api';

  /** Leeway for exp/nbf between the issuer's clock and ours. */
  @Type(() => Number) @IsInt() @Min(0) @Max(300)
  AUTH_CLOCK_TOLERANCE_S = 30;

  /** Requests per token subject per minute on the authenticated APIs (429 with Retry-After beyond). */
  @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000)
  AUTH_RATE_LIMIT_PER_MINUTE = 600;

  /** Longest accepted token lifetime (exp - iat); longer-lived tokens are refused. */
  @Type(() => Number) @IsInt() @Min(60)
  AUTH_MAX_TOKEN_TTL_S = 24 * 3600;
}
