using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;

namespace WeSaR.Training.Data;

/// <summary>
/// The corpus a fresh install trains on without any download: the English API documentation that the .NET SDK
/// installs beside its reference assemblies (packs/Microsoft.NETCore.App.Ref/&lt;version&gt;/ref/&lt;tfm&gt;/*.xml),
/// extracted to plain text, one paragraph per documented member. <c>data.path = "builtin"</c> selects it.
/// </summary>
public static partial class BuiltinCorpus
{
    public const string Name = "builtin";
    // About the size of the usual small character-level corpora: enough for the tiny preset, tokenized in a second.
    public const int MaxBytes = 1_200_000;

    /// <summary>Writes the corpus to &lt;dir&gt;/builtin.txt once (atomically) and returns its path.</summary>
    public static string Materialize(string dir)
    {
        var path = Path.Combine(dir, "builtin.txt");
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(dir);
        var temp = $"{path}.tmp-{Guid.NewGuid():N}";
        File.WriteAllText(temp, Extract(FindDocs()), new UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>The SDK's reference documentation files, newest pack version and target framework first, sorted by name.</summary>
    public static IReadOnlyList<string> FindDocs()
    {
        var roots = new[] { Environment.GetEnvironmentVariable("DOTNET_ROOT"), DotnetRootOfThisRuntime() }.OfType<string>().ToList();
        foreach (var root in roots)
        {
            var pack = Path.Combine(root, "packs", "Microsoft.NETCore.App.Ref");
            if (!Directory.Exists(pack)) continue;
            var refDir = Directory.GetDirectories(pack).OrderByDescending(VersionOf)
                .Select(v => Path.Combine(v, "ref")).Where(Directory.Exists)
                .SelectMany(r => Directory.GetDirectories(r).OrderByDescending(VersionOf))
                .FirstOrDefault(d => Directory.GetFiles(d, "*.xml").Length > 0);
            if (refDir is not null) return Directory.GetFiles(refDir, "*.xml").Order(StringComparer.Ordinal).ToList();
        }
        throw new FileNotFoundException(
            $"the built-in corpus comes from the .NET SDK's reference documentation (packs/Microsoft.NETCore.App.Ref), " +
            $"not found under {string.Join(" or ", roots)}; give your own text with data.path=<file>");
    }

    /// <summary>Plain text of the summaries, remarks and return descriptions, up to <see cref="MaxBytes"/>.</summary>
    public static string Extract(IEnumerable<string> docFiles)
    {
        var text = new StringBuilder();
        foreach (var file in docFiles)
        {
            using var reader = XmlReader.Create(file, new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
            while (reader.ReadToFollowing("member"))
            {
                using var member = reader.ReadSubtree();
                var paragraph = new StringBuilder();
                while (member.Read())
                    if (member.NodeType == XmlNodeType.Element && member.Name is "summary" or "remarks" or "returns")
                        paragraph.Append(InnerText(member.ReadSubtree())).Append(' ');
                var line = Spaces().Replace(paragraph.ToString(), " ").Trim();
                if (line.Length < 20) continue;
                if (Encoding.UTF8.GetByteCount(line) + text.Length + 2 > MaxBytes) return text.ToString();
                text.Append(line).Append("\n\n");
            }
        }
        return text.ToString();
    }

    // Mixed content: text as is, <see cref="T:System.String"/> as "String", <paramref name="x"/> as "x".
    static string InnerText(XmlReader r)
    {
        var s = new StringBuilder();
        while (r.Read())
        {
            if (r.NodeType is XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace) s.Append(r.Value);
            else if (r.NodeType == XmlNodeType.Element && (r.GetAttribute("langword") ?? r.GetAttribute("name") ?? ShortName(r.GetAttribute("cref"))) is { } word)
                s.Append(word);
        }
        return s.ToString();
    }

    static string? ShortName(string? cref)
    {
        if (cref is null) return null;
        var name = cref[(cref.IndexOf(':') + 1)..];
        if (name.IndexOf('(') is var p and >= 0) name = name[..p];
        name = name[(name.LastIndexOf('.') + 1)..];
        return name.IndexOf('`') is var g and >= 0 ? name[..g] : name;
    }

    static string? DotnetRootOfThisRuntime()
    {
        // <root>/shared/Microsoft.NETCore.App/<version>/
        var runtime = new DirectoryInfo(RuntimeEnvironment.GetRuntimeDirectory());
        return runtime.Parent?.Parent?.Parent?.FullName;
    }

    static Version VersionOf(string dir)
    {
        var m = VersionDigits().Match(Path.GetFileName(dir));
        return m.Success && Version.TryParse(m.Value, out var v) ? v : new Version(0, 0);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"\d+(\.\d+)+")]
    private static partial Regex VersionDigits();
}
