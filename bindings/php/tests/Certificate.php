<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

/** A self-signed P-256 certificate for 127.0.0.1 (SAN IP), made with PHP's openssl in a temp directory. */
final class Certificate
{
    public readonly string $certFile;

    public readonly string $keyFile;

    public function __construct()
    {
        $dir = sys_get_temp_dir() . '/incwo-php-cert-' . getmypid() . '-' . bin2hex(random_bytes(4));
        if (!mkdir($dir, 0700) && !is_dir($dir)) {
            throw new \RuntimeException("cannot create {$dir}");
        }
        $config = "{$dir}/openssl.cnf";
        file_put_contents($config, "[req]\ndistinguished_name = dn\n[dn]\n[ext]\nsubjectAltName = IP:127.0.0.1\nbasicConstraints = critical, CA:TRUE\n");
        $options = ['config' => $config, 'digest_alg' => 'sha256', 'x509_extensions' => 'ext'];
        $key = openssl_pkey_new(['private_key_type' => OPENSSL_KEYTYPE_EC, 'curve_name' => 'prime256v1']);
        $csr = $key !== false ? openssl_csr_new(['commonName' => '127.0.0.1'], $key, $options) : false;
        $x509 = $csr !== false && $csr !== true ? openssl_csr_sign($csr, null, $key, 1, $options) : false;
        if ($x509 === false || !openssl_x509_export($x509, $pem) || !openssl_pkey_export($key, $keyPem, null, $options)) {
            throw new \RuntimeException('cannot make a test certificate: ' . openssl_error_string());
        }
        $this->certFile = "{$dir}/cert.pem";
        $this->keyFile = "{$dir}/key.pem";
        file_put_contents($this->certFile, $pem);
        file_put_contents($this->keyFile, $keyPem);
        unlink($config);
    }

    public function __destruct()
    {
        @unlink($this->certFile);
        @unlink($this->keyFile);
        @rmdir(dirname($this->certFile));
    }
}
