-- 020_secret_key_id: secret values are sealed (AES-256-GCM, gateway/src/store/secret-box.ts) before they
-- are stored, and key_id names the key that sealed each one. NULL marks a plaintext value written by a
-- gateway older than sealing; a gateway seals those in place when it starts (SecretStore.sealPlaintext).
ALTER TABLE secrets ADD COLUMN key_id text;
