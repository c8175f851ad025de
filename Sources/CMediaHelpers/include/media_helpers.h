#ifndef TIELINE_MEDIA_HELPERS_H
#define TIELINE_MEDIA_HELPERS_H
// Swift cannot call variadic C functions; libopus configures encoders and
// decoders only through the variadic opus_*_ctl. These take one int.
#include <opus/opus.h>

int tieline_opus_encoder_ctl_int(OpusEncoder *encoder, int request, int value);
int tieline_opus_decoder_ctl_int(OpusDecoder *decoder, int request, int value);
int tieline_opus_encoder_get_int(OpusEncoder *encoder, int request, int *value);

#endif
