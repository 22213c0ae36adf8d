use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::{CoreError, CoreResult};

/// The Ed25519 key Plaza signs its JWTs with, and what verifies them.
///
/// Asymmetric on purpose: the public half is published at `/.well-known/jwks.json`, and
/// verification accepts only `EdDSA` with this key's `kid`, which rules out `alg: none`
/// and the classic "HMAC keyed with the public key" forgery.
pub struct SigningKeys {
    kid: String,
    public_key: [u8; 32],
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// One entry of a JSON Web Key Set (RFC 8037 for Ed25519).
#[derive(Debug, Clone, Serialize)]
pub struct PublicJwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub usage: &'static str,
    pub kid: String,
    pub x: String,
}

impl SigningKeys {
    /// A new random key, returned with its PKCS#8 PEM for the caller to keep.
    pub fn generate() -> CoreResult<(Self, String)> {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| CoreError::internal(anyhow::anyhow!("encode signing key: {e}")))?;
        Ok((Self::from_signing_key(&signing)?, pem.to_string()))
    }

    /// Loads a key saved by [`SigningKeys::generate`].
    pub fn from_pkcs8_pem(pem: &str) -> CoreResult<Self> {
        let signing = SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| CoreError::internal(anyhow::anyhow!("read signing key: {e}")))?;
        Self::from_signing_key(&signing)
    }

    fn from_signing_key(signing: &SigningKey) -> CoreResult<Self> {
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| CoreError::internal(anyhow::anyhow!("encode signing key: {e}")))?;
        let public_key = signing.verifying_key().to_bytes();
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public_key)[..12]);
        Ok(SigningKeys {
            kid,
            public_key,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public_key),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> PublicJwk {
        PublicJwk {
            kty: "OKP",
            crv: "Ed25519",
            alg: "EdDSA",
            usage: "sig",
            kid: self.kid.clone(),
            x: URL_SAFE_NO_PAD.encode(self.public_key),
        }
    }

    pub fn sign<T: Serialize>(&self, claims: &T) -> CoreResult<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| CoreError::internal(anyhow::anyhow!("sign token: {e}")))
    }

    /// Verifies signature, algorithm, `kid`, issuer and expiry, then decodes the claims.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, issuer: &str) -> CoreResult<T> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| CoreError::invalid_token())?;
        if header.alg != Algorithm::EdDSA || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(CoreError::invalid_token());
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 5;
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_aud = false;
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| CoreError::invalid_token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Claims {
        sub: String,
        iss: String,
        exp: i64,
    }

    fn claims(exp_offset: i64) -> Claims {
        let now = plaza_db::Timestamp::now().seconds();
        Claims { sub: "u".into(), iss: "plaza".into(), exp: now + exp_offset }
    }

    #[test]
    fn signs_and_verifies_and_survives_a_pem_round_trip() {
        let (keys, pem) = SigningKeys::generate().unwrap();
        let token = keys.sign(&claims(60)).unwrap();
        let reloaded = SigningKeys::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(reloaded.kid(), keys.kid());
        assert_eq!(reloaded.verify::<Claims>(&token, "plaza").unwrap().sub, "u");
    }

    #[test]
    fn refuses_other_keys_issuers_and_expired_tokens() {
        let (keys, _) = SigningKeys::generate().unwrap();
        let (other, _) = SigningKeys::generate().unwrap();
        let token = other.sign(&claims(60)).unwrap();
        assert!(keys.verify::<Claims>(&token, "plaza").is_err());
        let token = keys.sign(&claims(60)).unwrap();
        assert!(keys.verify::<Claims>(&token, "elsewhere").is_err());
        let expired = keys.sign(&claims(-60)).unwrap();
        assert!(keys.verify::<Claims>(&expired, "plaza").is_err());
    }
}
