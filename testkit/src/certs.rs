//! Test certificate authorities (rcgen): a CA, and server certificates it signs for chosen
//! names, valid now or already expired. For private servers that speak TLS.

use std::path::Path;

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

/// A certificate and its private key, PEM.
pub struct ServerCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    /// A new CA whose certificate's common name is `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters are valid");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("cannot generate a CA key");
        let issuer = rcgen::CertifiedIssuer::self_signed(params, key).expect("cannot sign the CA");
        TestCa { issuer }
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA's certificate to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.pem()).expect("cannot write the CA certificate");
    }

    /// A server certificate for `names` (host names or IP addresses), valid now, or — when
    /// `expired` — valid only in 2020.
    pub fn server(&self, names: &[&str], expired: bool) -> ServerCert {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params =
            rcgen::CertificateParams::new(names.clone()).expect("server names are valid");
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 12, 31);
        }
        let key = rcgen::KeyPair::generate().expect("cannot generate a server key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("cannot sign the server certificate");
        ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A client certificate (extended key usage `clientAuth`) for `name`, for mutual TLS.
    pub fn client(&self, name: &str) -> ServerCert {
        let mut params =
            rcgen::CertificateParams::new(vec![name.to_owned()]).expect("client name is valid");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = rcgen::KeyPair::generate().expect("cannot generate a client key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("cannot sign the client certificate");
        ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
