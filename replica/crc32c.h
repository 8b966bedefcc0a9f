// CRC-32C (Castagnoli), the checksum on every journal and snapshot record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace worldline::replica {

std::uint32_t crc32c(std::string_view bytes);

}  // namespace worldline::replica
