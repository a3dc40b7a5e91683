using System.Text;
using Microsoft.ML.Tokenizers;

namespace WeSaR.Training.Data;

/// <summary>Text to token ids.</summary>
public interface ITextTokenizer
{
    string Name { get; }

    int VocabSize { get; }

    /// <summary>Id placed between documents, if the tokenizer has one.</summary>
    int? DocumentSeparator { get; }

    IReadOnlyList<int> Encode(string text);

    /// <summary>Token ids back to text; bytes that are no valid UTF-8 (a sample cut mid-character) become U+FFFD.</summary>
    string Decode(IEnumerable<int> ids);
}

/// <summary>UTF-8 bytes as tokens: 256 symbols, no training, ideal for tiny CPU models.</summary>
public sealed class ByteTokenizer : ITextTokenizer
{
    public string Name => "byte";

    public int VocabSize => 256;

    public int? DocumentSeparator => null;

    public IReadOnlyList<int> Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.Select(i => (byte)i).ToArray());
}

/// <summary>GPT-2 BPE (Microsoft.ML.Tokenizers with the packaged gpt2 vocabulary), with &lt;|endoftext|&gt; between documents.</summary>
public sealed class Gpt2Tokenizer : ITextTokenizer
{
    readonly TiktokenTokenizer tokenizer = TiktokenTokenizer.CreateForModel("gpt2");

    public string Name => "gpt2";

    public int VocabSize => 50257;

    public int? DocumentSeparator => 50256;

    public IReadOnlyList<int> Encode(string text) => tokenizer.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids) => tokenizer.Decode(ids);
}

public static class Tokenizers
{
    public static readonly IReadOnlyList<string> Names = ["byte", "gpt2"];

    public static ITextTokenizer Create(string name) => name switch
    {
        "byte" => new ByteTokenizer(),
        "gpt2" => new Gpt2Tokenizer(),
        _ => throw new ArgumentException($"unknown tokenizer '{name}'; use one of {string.Join(", ", Names)}"),
    };
}
