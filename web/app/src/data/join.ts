import { PlazaApiError } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

import { go } from '../router.js';
import { session } from '../session.js';
import { useAction, useSession } from '../ui.js';

const PIN_CODES = ['topic.password_required', 'topic.password_invalid'];

/**
 * Joining a space by its shared link, or accepting an emailed invitation (`invitation`):
 * signed-in people join at once; a space with a PIN asks for it (`needPin`); people not
 * signed in join as a guest with the name they give. The space opens once joined.
 */
export function useJoin(id: string, invitation: boolean) {
  const s = useSession();
  const [needPin, setNeedPin] = useState(false);
  const { error, busy, run, setError } = useAction();
  const tried = useRef(false);

  const enter = async (withPin?: string) => {
    try {
      const space = invitation ? await s.client.acceptInvitation(id, withPin) : await s.client.join(id, withPin);
      if (withPin) sessionStorage.setItem(`plaza.pin.${space._id}`, withPin);
      go(`/spaces/${space._id}`);
    } catch (e) {
      if (e instanceof PlazaApiError && PIN_CODES.includes(e.code)) {
        setNeedPin(true);
        if (withPin) throw e;
        return;
      }
      throw e;
    }
  };

  useEffect(() => {
    if (s.user && !tried.current) {
      tried.current = true;
      void run(() => enter());
    }
  }, [s.user]);

  /** Joins with the guest name (when not signed in) and the PIN (when asked for). */
  const join = (guestName: string, pin: string) => {
    setError(null);
    void run(async () => {
      tried.current = true;
      if (!s.user) await session.guestLogin(guestName.trim());
      await enter(needPin ? pin.trim() : undefined);
    });
  };
  return { user: s.user, needPin, join, error, busy };
}
