#include "media_helpers.h"

int tieline_opus_encoder_ctl_int(OpusEncoder *encoder, int request, int value) {
    return opus_encoder_ctl(encoder, request, value);
}

int tieline_opus_decoder_ctl_int(OpusDecoder *decoder, int request, int value) {
    return opus_decoder_ctl(decoder, request, value);
}

int tieline_opus_encoder_get_int(OpusEncoder *encoder, int request, int *value) {
    return opus_encoder_ctl(encoder, request, value);
}
