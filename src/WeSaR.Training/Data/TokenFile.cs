using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;

namespace WeSaR.Training.Data;

public enum Split { Train, Val }

/// <summary>A text file that went into a token file, identified by content hash.</summary>
public sealed record SourceInfo(string Path, long Bytes, string Sha256);

/// <summary>The JSON header of a token file.</summary>
public sealed record TokenHeader(int Format, string Tokenizer, int VocabSize, string Dtype, long TrainTokens, long ValTokens,
    double ValFraction, IReadOnlyList<SourceInfo> Sources);

/// <summary>
/// Tokens on disk: 8-byte magic "WESARTK1", int32 header length, the JSON header, padding to 8 bytes, then the
/// train tokens followed by the validation tokens as little-endian uint16 (vocabularies up to 65,536).
/// Reading maps the file into memory, so corpora larger than RAM work.
/// </summary>
public sealed class TokenFile : IDisposable
{
    public const string DefaultName = "tokens.bin";
    static readonly byte[] Magic = "WESARTK1"u8.ToArray();
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    readonly MemoryMappedFile file;
    readonly MemoryMappedViewAccessor view;
    readonly long dataOffset;

    public TokenHeader Header { get; }

    public string Path { get; }

    TokenFile(string path)
    {
        Path = path;
        using (var fs = File.OpenRead(path))
        {
            var (header, offset) = ReadHeader(fs, path);
            Header = header;
            dataOffset = offset;
            var expected = offset + 2 * (header.TrainTokens + header.ValTokens);
            if (fs.Length != expected) throw new InvalidDataException($"{path}: expected {expected} bytes, found {fs.Length} (truncated?)");
        }
        file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
    }

    /// <summary>Opens a token file, or the token file inside a folder.</summary>
    public static TokenFile Open(string path) =>
        new(Directory.Exists(path) ? System.IO.Path.Combine(path, DefaultName) : path);

    /// <summary>Whether the path holds a token file (by magic), as opposed to text.</summary>
    public static bool IsTokenFile(string path)
    {
        if (Directory.Exists(path)) path = System.IO.Path.Combine(path, DefaultName);
        if (!File.Exists(path)) return false;
        using var fs = File.OpenRead(path);
        var head = new byte[Magic.Length];
        return fs.Read(head) == head.Length && head.SequenceEqual(Magic);
    }

    public long Count(Split split) => split == Split.Train ? Header.TrainTokens : Header.ValTokens;

    /// <summary>Copies tokens [start, start + dst.Length) of a split into dst.</summary>
    public void Read(Split split, long start, Span<long> dst)
    {
        var first = (split == Split.Train ? 0 : Header.TrainTokens) + start;
        for (var i = 0; i < dst.Length; i++) dst[i] = view.ReadUInt16(dataOffset + 2 * (first + i));
    }

    public static void Write(string path, TokenHeader header, IReadOnlyList<ushort> tokens)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
        var temp = path + ".tmp";
        using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write))
        using (var w = new BinaryWriter(fs))
        {
            w.Write(Magic);
            w.Write(json.Length);
            w.Write(json);
            w.Write(new byte[Pad(Magic.Length + 4 + json.Length)]);
            foreach (var t in tokens) w.Write(t);
            w.Flush();
            fs.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    static (TokenHeader, long) ReadHeader(Stream s, string path)
    {
        using var r = new BinaryReader(s, Encoding.UTF8, leaveOpen: true);
        if (!r.ReadBytes(Magic.Length).SequenceEqual(Magic)) throw new InvalidDataException($"{path} is not a token file (run `wesar data prepare`)");
        var len = r.ReadInt32();
        var header = JsonSerializer.Deserialize<TokenHeader>(r.ReadBytes(len), Json) ?? throw new InvalidDataException($"{path}: empty header");
        if (header.Format != 1 || header.Dtype != "uint16") throw new InvalidDataException($"{path}: unsupported format {header.Format}/{header.Dtype}");
        var used = Magic.Length + 4 + len;
        return (header, used + Pad(used));
    }

    static int Pad(int used) => (8 - used % 8) % 8;

    public void Dispose()
    {
        view.Dispose();
        file.Dispose();
    }
}
