// A self-signed certificate (EC P-256) made by the test, written as PEM for
// a TLS receiver and for the dispatcher's ca_file.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace tg::itest {

class TlsCertificate {
 public:
  explicit TlsCertificate(const std::string& alt_names) {
    key_ = EVP_EC_gen("P-256");
    cert_ = X509_new();
    if (!key_ || !cert_) throw std::runtime_error("cannot make a test certificate");
    X509_set_version(cert_, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 3600);
    X509_set_pubkey(cert_, key_);
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tg-test"), -1, -1, 0);
    X509_set_issuer_name(cert_, name);
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert_, cert_, nullptr, nullptr, 0);
    for (const auto& [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, alt_names},
                                     std::pair<int, std::string>{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
      if (!extension) throw std::runtime_error("bad certificate extension " + value);
      X509_add_ext(cert_, extension, -1);
      X509_EXTENSION_free(extension);
    }
    if (X509_sign(cert_, key_, EVP_sha256()) <= 0) throw std::runtime_error("cannot sign the test certificate");
  }
  ~TlsCertificate() {
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }
  TlsCertificate(const TlsCertificate&) = delete;
  TlsCertificate& operator=(const TlsCertificate&) = delete;

  void write(const std::string& certificate_path, const std::string& key_path) const {
    FILE* file = std::fopen(certificate_path.c_str(), "w");
    if (!file) throw std::runtime_error("cannot write " + certificate_path);
    PEM_write_X509(file, cert_);
    std::fclose(file);
    file = std::fopen(key_path.c_str(), "w");
    if (!file) throw std::runtime_error("cannot write " + key_path);
    PEM_write_PrivateKey(file, key_, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(file);
  }

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

}  // namespace tg::itest
