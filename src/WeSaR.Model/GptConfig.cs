namespace WeSaR.Model;

/// <summary>
/// Shape of the decoder; names follow nanoGPT so papers and checkpoints map one to one. <c>QkNorm</c>: an RMSNorm on
/// every head's queries and keys before attention (OLMo 2, Gemma), which bounds the attention logits.
/// </summary>
public sealed record GptConfig(int VocabSize, int BlockSize, int NLayer, int NHead, int DModel, double Dropout = 0.0, bool QkNorm = false)
{
    /// <summary>FFN hidden width: 4d, as in the paper's backbone.</summary>
    public int DHidden => 4 * DModel;
}
