using System.Security.Cryptography;
using System.Text;
using WeSaR.Training.Config;

namespace WeSaR.Training.Data;

/// <summary>Turns data.path into an open token file: used as is when prepared, else tokenized once into a cache.</summary>
public static class DataSource
{
    /// <summary>Opens the token file for the settings; text inputs are cached under &lt;workdir&gt;/data/&lt;hash&gt;/.</summary>
    public static TokenFile Open(DataSettings s, string workdir, Action<string>? progress = null)
    {
        if (TokenFile.IsTokenFile(s.Path)) return TokenFile.Open(s.Path);
        var files = DataPreparer.ExpandInputs([s.Path]);
        var key = new StringBuilder($"{s.Tokenizer}|{s.ValFraction:R}");
        foreach (var f in files) key.Append('|').Append(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
        var dir = Path.Combine(workdir, "data", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..16]);
        if (!TokenFile.IsTokenFile(dir))
        {
            progress?.Invoke($"tokenizing {files.Count} file(s) with {s.Tokenizer} into {dir}");
            // Prepared aside and renamed into place: runs (or processes) that tokenize at once never see half a file.
            var temp = $"{dir}.tmp-{Guid.NewGuid():N}";
            DataPreparer.Prepare(files, s.Tokenizer, temp, s.ValFraction, progress);
            try { Directory.Move(temp, dir); }
            catch (IOException) when (TokenFile.IsTokenFile(dir)) { Directory.Delete(temp, recursive: true); }
        }
        return TokenFile.Open(dir);
    }
}
