using System.Security.Cryptography;
using System.Text;

namespace WeSaR.Training.Data;

/// <summary>Tokenizes text files into a token file with a train/validation split.</summary>
public static class DataPreparer
{
    /// <summary>
    /// Expands inputs (paths or globs such as "texts/*.txt" or "corpus/**/*.md"), tokenizes each file in sorted
    /// order, joins them (with the tokenizer's document separator where it has one) and holds out the last
    /// <paramref name="valFraction"/> of the tokens for validation. Writes &lt;outDir&gt;/tokens.bin.
    /// </summary>
    public static TokenHeader Prepare(IEnumerable<string> inputs, string tokenizerName, string outDir, double valFraction,
        Action<string>? progress = null)
    {
        var files = ExpandInputs(inputs);
        var tokenizer = Tokenizers.Create(tokenizerName);
        if (tokenizer.VocabSize > ushort.MaxValue + 1) throw new ArgumentException($"vocabulary of {tokenizer.VocabSize} does not fit uint16 tokens");
        var tokens = new List<ushort>();
        var sources = new List<SourceInfo>();
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(f);
            if (LooksBinary(bytes))
                throw new InvalidDataException($"{f} is not text (it has NUL bytes or invalid UTF-8): give text files, or a token file from `wesar data prepare`");
            if (tokens.Count > 0 && tokenizer.DocumentSeparator is { } sep) tokens.Add((ushort)sep);
            var before = tokens.Count;
            // Paragraph-sized pieces keep BPE memory bounded on big files; BPE never merges across a blank line anyway.
            foreach (var piece in Paragraphs(Encoding.UTF8.GetString(bytes)))
                foreach (var id in tokenizer.Encode(piece)) tokens.Add((ushort)id);
            sources.Add(new SourceInfo(Path.GetFullPath(f), bytes.LongLength, Convert.ToHexStringLower(SHA256.HashData(bytes))));
            progress?.Invoke($"{f}: {bytes.LongLength:N0} bytes → {tokens.Count - before:N0} tokens");
        }
        var val = (long)Math.Round(tokens.Count * valFraction);
        var header = new TokenHeader(1, tokenizer.Name, tokenizer.VocabSize, "uint16", tokens.Count - val, val, valFraction, sources);
        Directory.CreateDirectory(outDir);
        TokenFile.Write(Path.Combine(outDir, TokenFile.DefaultName), header, tokens);
        return header;
    }

    public static IReadOnlyList<string> ExpandInputs(IEnumerable<string> inputs)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var input in inputs.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (input.IndexOfAny(['*', '?']) < 0)
            {
                if (!File.Exists(input)) throw new FileNotFoundException($"input not found: {input}", input);
                files.Add(input);
                continue;
            }
            var recursive = input.Contains("**");
            var dir = Path.GetDirectoryName(input[..input.IndexOfAny(['*', '?'])]) is { Length: > 0 } d ? d : ".";
            var pattern = Path.GetFileName(input);
            var found = Directory.Exists(dir)
                ? Directory.GetFiles(dir, pattern, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
                : [];
            if (found.Length == 0) throw new FileNotFoundException($"no files match {input}", input);
            files.UnionWith(found);
        }
        if (files.Count == 0) throw new ArgumentException("no input files given");
        return files.ToList();
    }

    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    static bool LooksBinary(byte[] bytes)
    {
        if (Array.IndexOf(bytes, (byte)0) >= 0) return true;
        try { StrictUtf8.GetCharCount(bytes); return false; }
        catch (DecoderFallbackException) { return true; }
    }

    static IEnumerable<string> Paragraphs(string text)
    {
        var start = 0;
        while (start < text.Length)
        {
            var end = text.IndexOf("\n\n", start, StringComparison.Ordinal);
            end = end < 0 ? text.Length : end + 2;
            yield return text[start..end];
            start = end;
        }
    }
}
