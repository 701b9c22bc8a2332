namespace NativeDiffusion.Images;

/// <summary>What becomes of transparent pixels when an image is read for img2img.</summary>
public enum AlphaHandling
{
    /// <summary>Blend each pixel over white by its alpha (what the web UI does with transparent input). The default.</summary>
    CompositeOverWhite,

    /// <summary>Drop the alpha channel and keep the colour channels as they are, even where fully transparent.</summary>
    Ignore,
}

/// <summary>What happens when an input image's sides are not multiples of 8 (the VAE works on 8x8 blocks).</summary>
public enum InputSizeMode
{
    /// <summary>Refuse the image with an <see cref="ArgumentException"/> that names its size and the nearest valid sizes. The default.</summary>
    RequireMultipleOf8,

    /// <summary>Resize each side to the nearest multiple of 8 (at least 8); an image already valid is kept as it is.</summary>
    RoundToMultipleOf8,

    /// <summary>Resize to <see cref="InputImageOptions.Width"/> x <see cref="InputImageOptions.Height"/>, which must be multiples of 8.</summary>
    ResizeTo,
}

/// <summary>How an image is read for img2img. Each property checks its value when set; the combination is checked on use.</summary>
public sealed record InputImageOptions
{
    /// <summary>The default <see cref="MaxDimension"/>: 8192 pixels a side.</summary>
    public const int DefaultMaxDimension = 8192;

    /// <summary>The default <see cref="MaxEncodedBytes"/>: 256 MiB.</summary>
    public const long DefaultMaxEncodedBytes = 256L * 1024 * 1024;

    /// <summary>The defaults: alpha over white, sides must be multiples of 8, 8192 pixels a side at most.</summary>
    public static InputImageOptions Default { get; } = new();

    /// <summary>What becomes of transparent pixels. Default <see cref="AlphaHandling.CompositeOverWhite"/>.</summary>
    public AlphaHandling Alpha
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(Alpha), value, "Unknown alpha handling.");
            }

            field = value;
        }
    } = AlphaHandling.CompositeOverWhite;

    /// <summary>What happens to sides that are not multiples of 8. Default <see cref="InputSizeMode.RequireMultipleOf8"/>.</summary>
    public InputSizeMode SizeMode
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(SizeMode), value, "Unknown size mode.");
            }

            field = value;
        }
    } = InputSizeMode.RequireMultipleOf8;

    /// <summary>The width to resize to with <see cref="InputSizeMode.ResizeTo"/>: a positive multiple of 8; null otherwise.</summary>
    public int? Width
    {
        get;
        init => field = CheckTarget(value, nameof(Width));
    }

    /// <summary>The height to resize to with <see cref="InputSizeMode.ResizeTo"/>: a positive multiple of 8; null otherwise.</summary>
    public int? Height
    {
        get;
        init => field = CheckTarget(value, nameof(Height));
    }

    /// <summary>The largest <see cref="MaxDimension"/> that can be set: 16384 (the decoded RGBA pixels stay within one array).</summary>
    public const int LargestMaxDimension = 16384;

    /// <summary>
    /// The longest side accepted, in pixels, both in the file (checked from its header, before any pixel is decoded) and
    /// after resizing; 8 to <see cref="LargestMaxDimension"/>. Default <see cref="DefaultMaxDimension"/>.
    /// </summary>
    public int MaxDimension
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 8, nameof(MaxDimension));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, LargestMaxDimension, nameof(MaxDimension));
            field = value;
        }
    } = DefaultMaxDimension;

    /// <summary>The largest encoded file or stream accepted, in bytes. Default <see cref="DefaultMaxEncodedBytes"/>.</summary>
    public long MaxEncodedBytes
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxEncodedBytes));
            field = value;
        }
    } = DefaultMaxEncodedBytes;

    /// <summary>Checks that the properties fit together: a target size exactly when <see cref="SizeMode"/> is <see cref="InputSizeMode.ResizeTo"/>, within <see cref="MaxDimension"/>.</summary>
    /// <exception cref="ArgumentException">They do not; the message names the property.</exception>
    public void Validate()
    {
        if (SizeMode == InputSizeMode.ResizeTo)
        {
            if (Width is null || Height is null)
            {
                throw new ArgumentException($"{nameof(InputSizeMode)}.{nameof(InputSizeMode.ResizeTo)} needs both {nameof(Width)} and {nameof(Height)}.", SizeMode.ToString());
            }

            if (Width > MaxDimension || Height > MaxDimension)
            {
                throw new ArgumentException($"The target size {Width}x{Height} exceeds {nameof(MaxDimension)} ({MaxDimension}).", nameof(Width));
            }
        }
        else if (Width is not null || Height is not null)
        {
            throw new ArgumentException($"{nameof(Width)} and {nameof(Height)} are used only with {nameof(InputSizeMode)}.{nameof(InputSizeMode.ResizeTo)}; {nameof(SizeMode)} is {SizeMode}.", nameof(Width));
        }
    }

    private static int? CheckTarget(int? value, string name)
    {
        if (value is { } v && (v < 8 || v % 8 != 0))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive multiple of 8.");
        }

        return value;
    }
}
