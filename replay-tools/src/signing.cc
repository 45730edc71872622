#include "replay/signing.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace replay {
namespace {

// U+2014 EM DASH and a space: how a signature line starts.
constexpr std::string_view kSignatureMark = "\xE2\x80\x94 ";
constexpr uint8_t kEd25519Algorithm = 0x01;  // signed-note's signature type byte

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

ledger::Status ReadFile(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ledger::Status::NotFound(path + ": no such key file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return ledger::Status::OK();
}

// Writes a new key to `path` unless a file is there already (then keeps that one).
ledger::Status CreateKeyFile(const std::string& path) {
  PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) return ledger::Status::IOError("signing key: OpenSSL cannot make an Ed25519 key");
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return ledger::Status::IOError("signing key: cannot encode the key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ledger::Status::IOError(fmt::format("{}: {}", tmp, std::strerror(errno)));
  const bool written = ::write(fd, data, static_cast<size_t>(size)) == size && ::fsync(fd) == 0;
  ::close(fd);
  // link() fails if `path` exists: a key made meanwhile by another process wins.
  const bool linked = written && (::link(tmp.c_str(), path.c_str()) == 0 || errno == EEXIST);
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!linked) {
    return ledger::Status::IOError(fmt::format("{}: {}", path, std::strerror(link_errno)));
  }
  return ledger::Status::OK();
}

PublicKeyBytes RawPublicKey(EVP_PKEY* pkey) {
  PublicKeyBytes raw{};
  size_t len = raw.size();
  EVP_PKEY_get_raw_public_key(pkey, raw.data(), &len);
  return raw;
}

// The signed-note key id: SHA-256(name || "\n" || 0x01 || key), first 4 bytes.
std::string KeyId(std::string_view name, const PublicKeyBytes& key) {
  const char type = static_cast<char>(kEd25519Algorithm);
  const ledger::Digest d = ledger::Sha256Parts(
      {name, "\n", std::string_view(&type, 1),
       std::string_view(reinterpret_cast<const char*>(key.data()), key.size())});
  return std::string(reinterpret_cast<const char*>(d.data()), 4);
}

// Splits `text` at newlines (the last line must end with one). False if it does not.
bool SplitLines(std::string_view text, std::vector<std::string_view>* lines) {
  if (text.empty() || text.back() != '\n') return false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines->push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return true;
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

struct SigningKey::Pkey {
  PkeyPtr key;
};

SigningKey::SigningKey(std::unique_ptr<Pkey> pkey) : pkey_(std::move(pkey)) {
  public_key_ = RawPublicKey(pkey_->key.get());
  name_ = KeyNameOf(public_key_);
}

SigningKey::~SigningKey() = default;

ledger::Status SigningKey::Load(const std::string& path, bool create,
                                std::unique_ptr<SigningKey>* key) {
  std::string pem;
  ledger::Status s = ReadFile(path, &pem);
  if (s.IsNotFound() && create) {
    s = CreateKeyFile(path);
    if (s.ok()) s = ReadFile(path, &pem);
  }
  if (!s.ok()) return s;
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return ledger::Status::InvalidArgument(path + ": not a PEM Ed25519 private key");
  }
  auto holder = std::make_unique<Pkey>();
  holder->key = std::move(pkey);
  key->reset(new SigningKey(std::move(holder)));
  return ledger::Status::OK();
}

std::string SigningKey::PublicKeyPem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_->key.get()) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string SigningKey::Sign(std::string_view message) const {
  std::string sig(64, '\0');
  size_t len = sig.size();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  // Ed25519 is one-shot: no digest is named, the whole message goes in at once.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != 64) {
    return "";
  }
  return sig;
}

std::string KeyNameOf(const PublicKeyBytes& key) {
  const ledger::Digest d =
      ledger::Sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  return "ledger-" + ledger::ToHex(d).substr(0, 16);
}

std::string SignCheckpoint(const SigningKey& key, std::string_view tenant, uint64_t version,
                           const ledger::Digest& hash) {
  const std::string body =
      fmt::format("{}/{}\n{}\n{}\n", key.name(), tenant, version, Base64(ledger::AsBytes(hash)));
  const std::string signature = KeyId(key.name(), key.public_key()) + key.Sign(body);
  return fmt::format("{}\n{}{} {}\n", body, kSignatureMark, key.name(), Base64(signature));
}

ledger::Status ParsePublicKeyPem(std::string_view pem, PublicKeyBytes* key) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return ledger::Status::InvalidArgument("key: not a PEM Ed25519 public key");
  }
  *key = RawPublicKey(pkey.get());
  return ledger::Status::OK();
}

ledger::Status OpenCheckpoint(std::string_view note, const PublicKeyBytes& key,
                              TenantCheckpoint* checkpoint) {
  using ledger::Status;
  const size_t blank = note.find("\n\n");
  std::vector<std::string_view> body, signatures;
  if (blank == std::string_view::npos || !SplitLines(note.substr(0, blank + 1), &body) ||
      !SplitLines(note.substr(blank + 2), &signatures) || body.size() < 3) {
    return Status::InvalidArgument(
        "checkpoint: not a signed note (origin, version, hash, "
        "an empty line, signature lines)");
  }
  const std::string name = KeyNameOf(key);
  const std::string id = KeyId(name, key);
  std::string signature;
  for (std::string_view line : signatures) {
    const std::string prefix = std::string(kSignatureMark) + name + " ";
    std::string decoded;
    if (line.substr(0, prefix.size()) == prefix &&
        FromBase64(line.substr(prefix.size()), &decoded) && decoded.size() == 68 &&
        decoded.compare(0, 4, id) == 0) {
      signature = decoded.substr(4);
    }
  }
  if (signature.empty()) {
    return Status::InvalidArgument(
        fmt::format("checkpoint: no signature by the pinned key ({})", name));
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const std::string_view signed_text = note.substr(0, blank + 1);
  if (!pkey || !ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(signed_text.data()),
                       signed_text.size()) != 1) {
    return Status::InvalidArgument("checkpoint: the signature does not match its text");
  }
  const std::string_view origin = body[0];
  std::string hash;
  if (origin.substr(0, name.size() + 1) != name + "/" || origin.size() == name.size() + 1) {
    return Status::InvalidArgument("checkpoint: the origin is not '" + name + "/<tenant>'");
  }
  if (!ParseDecimal(body[1], &checkpoint->version) || checkpoint->version == 0) {
    return Status::InvalidArgument("checkpoint: the second line is not a version");
  }
  if (!FromBase64(body[2], &hash) || hash.size() != 32) {
    return Status::InvalidArgument("checkpoint: the third line is not a base64 SHA-256 hash");
  }
  checkpoint->origin = std::string(origin);
  checkpoint->tenant = std::string(origin.substr(name.size() + 1));
  std::memcpy(checkpoint->hash.data(), hash.data(), 32);
  return Status::OK();
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool FromBase64(std::string_view text, std::string* bytes) {
  if (text.size() % 4 != 0) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') {
      return false;
    }
  }
  std::string out(3 * (text.size() / 4) + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding's zero bytes: drop one per '='.
  size_t size = static_cast<size_t>(n);
  if (!text.empty() && text.back() == '=') --size;
  if (text.size() > 1 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  *bytes = std::move(out);
  return true;
}

}  // namespace replay
