// kafkajs ships only gzip; these register snappy, lz4 and zstd from
// pure-JS/wasm packages, so nothing native has to be built on install.
'use strict'

const { CompressionTypes, CompressionCodecs } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const lz4 = require('lz4js')
const xxh32 = require('lz4js/xxh32.js')
const { ZstdCodec } = require('zstd-codec')

// Kafka reads LZ4 frames with independent blocks only, and lz4js.compress
// writes frames flagged as dependent blocks, which Kafka rejects. So the
// frame is written here around lz4js's block compressor, one fresh hash
// table per block so no block refers back into an earlier one.
const LZ4_MAGIC = 0x184d2204
const LZ4_FLG_VERSION_1_INDEPENDENT = 0x60
const LZ4_BD_64KB = 0x40
const LZ4_BLOCK_SIZE = 64 * 1024
const LZ4_UNCOMPRESSED_BIT = 0x80000000

function lz4Frame (src) {
  const header = Buffer.alloc(7)
  header.writeUInt32LE(LZ4_MAGIC, 0)
  header[4] = LZ4_FLG_VERSION_1_INDEPENDENT
  header[5] = LZ4_BD_64KB
  header[6] = (xxh32.hash(0, header, 4, 2) >> 8) & 0xff
  const parts = [header]
  const blockBuf = Buffer.alloc(lz4.compressBound(LZ4_BLOCK_SIZE))
  for (let start = 0; start < src.length; start += LZ4_BLOCK_SIZE) {
    const size = Math.min(LZ4_BLOCK_SIZE, src.length - start)
    const compressed = lz4.compressBlock(src, blockBuf, start, size, new Uint32Array(1 << 16))
    const blockHeader = Buffer.alloc(4)
    if (compressed === 0 || compressed >= size) {
      blockHeader.writeUInt32LE((LZ4_UNCOMPRESSED_BIT | size) >>> 0, 0)
      parts.push(blockHeader, src.subarray(start, start + size))
    } else {
      blockHeader.writeUInt32LE(compressed, 0)
      parts.push(blockHeader, Buffer.from(blockBuf.subarray(0, compressed)))
    }
  }
  parts.push(Buffer.alloc(4)) // end mark
  return Buffer.concat(parts)
}

const Lz4Codec = () => ({
  async compress (encoder) {
    return lz4Frame(encoder.buffer)
  },
  async decompress (buffer) {
    return Buffer.from(lz4.decompress(buffer))
  }
})

function loadZstd () {
  return new Promise(resolve => ZstdCodec.run(zstd => resolve(new zstd.Simple())))
}

const ZstdCompressionCodec = () => {
  const simple = loadZstd()
  return {
    async compress (encoder) {
      return Buffer.from((await simple).compress(encoder.buffer, 3))
    },
    async decompress (buffer) {
      return Buffer.from((await simple).decompress(buffer))
    }
  }
}

function registerCodecs () {
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
  CompressionCodecs[CompressionTypes.LZ4] = Lz4Codec
  CompressionCodecs[CompressionTypes.ZSTD] = ZstdCompressionCodec
}

module.exports = { registerCodecs }
