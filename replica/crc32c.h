// CRC-32C (Castagnoli), the checksum on every journal and snapshot record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace worldline::replica {

std::uint32_t crc32c(std::string_view bytes);
// The CRC-32C of the bytes that gave `crc` followed by `bytes`:
// crc32c_extend(crc32c(a), b) == crc32c(a + b).
std::uint32_t crc32c_extend(std::uint32_t crc, std::string_view bytes);

}  // namespace worldline::replica
